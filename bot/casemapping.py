"""How IRC servers compare nicks and channels (their advertised CASEMAPPING). The core
needs it too: admins and typed names on an IRC network are matched the server's way, so
`[alice]` and `{alice}` are the same nick under rfc1459."""

from __future__ import annotations

from string import ascii_lowercase, ascii_uppercase

_FOLDS = {
    "ascii": str.maketrans(ascii_uppercase, ascii_lowercase),
    "rfc1459": str.maketrans(ascii_uppercase + "[]\\~", ascii_lowercase + "{}|^"),
    "strict-rfc1459": str.maketrans(ascii_uppercase + "[]\\", ascii_lowercase + "{}|"),
}


def fold(name: str, casemapping: str = "rfc1459") -> str:
    """Fold a nick or channel the way the server compares them. Unknown mappings (such as
    rfc7613, which is Unicode-aware) fall back to Unicode case folding."""
    table = _FOLDS.get(casemapping.lower())
    return name.translate(table) if table is not None else name.casefold()
