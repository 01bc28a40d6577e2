"""Where a deploy's digest lives: one file per deploy (`digest-<deploy>.md`), replaced
whole each time the digest is written again, so a day of `!digest` leaves one postmortem
to keep. With `keep_versions: N`, the text each write replaces is kept beside it as a
numbered version (`digest-<deploy>.1.md` the first, counting up), the newest N of them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from bot.commands import UserError
from bot.files import Modes
from plugins.common.files import atomic_text, ensure_directory, file_stem


def digest_path(directory: Path, deploy: str, ext: str) -> Path:
    return directory / f"digest-{file_stem(deploy)}.{ext}"


def save(
    directory: Path, deploy: str, ext: str, text: str | Iterable[str], modes: Modes, keep: int
) -> Path:
    """Write the digest of `deploy` (its text, or its pieces in order, written as they
    come) in place of the one before (atomically, with the files' mode); keep what it
    replaces as a numbered version when `keep` > 0, and only the newest `keep` versions.
    Rewriting the same text adds no version."""
    path = digest_path(ensure_directory(directory, modes), deploy, ext)
    pieces = (text,) if isinstance(text, str) else text
    if keep > 0:
        whole = "".join(pieces)  # compared with the text it replaces
        _keep_version(path, whole, modes, keep)
        pieces = (whole,)
    with atomic_text(path, modes) as f:
        f.writelines(pieces)
    return path


def _keep_version(path: Path, text: str, modes: Modes, keep: int) -> None:
    """The text at `path` kept as the next numbered version unless it is `text`; only the
    newest `keep` versions stay."""
    before = _read(path)
    if before is not None and before != text:
        numbered = _versions(path)
        after = max(numbered, default=0) + 1
        with atomic_text(path.with_suffix(f".{after}{path.suffix}"), modes) as f:
            f.write(before)
        for n in sorted(numbered)[: max(0, len(numbered) + 1 - keep)]:
            numbered[n].unlink(missing_ok=True)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def _versions(path: Path) -> dict[int, Path]:
    """The numbered versions beside `path`, by number."""
    pattern = re.compile(re.escape(path.stem) + r"\.(\d+)" + re.escape(path.suffix))
    found = {}
    for other in path.parent.glob(f"{path.stem}.*{path.suffix}"):
        m = pattern.fullmatch(other.name)
        if m:
            found[int(m[1])] = other
    return found
