"""Cleaning text at the edges: what people type before it is parsed, and what the bot
sends before it reaches a wire. Both sides drop the same dangerous characters."""

from __future__ import annotations

import re

# IRC formatting: bold, colour (with its digits), hex colour, reset, monospace, reverse,
# italic, strikethrough, underline.
_IRC_FORMAT = re.compile(
    r"\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?"
    r"|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
_SPACE_LIKE = re.compile(r"[\t\r\n\v\f\x85\u2028\u2029]+")
# Other C0/C1 controls and the bidi overrides that make text read differently than it is.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates (a JSON "\ud800" from Matrix) cannot be encoded as UTF-8 at all.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> str:
    """One line of plain text: formatting codes removed, line breaks and tabs turned into
    spaces, control characters dropped. Safe to store, parse and echo."""
    text = _IRC_FORMAT.sub("", text)
    text = _SPACE_LIKE.sub(" ", text)
    return _SURROGATE.sub("\ufffd", _INVISIBLE.sub("", text))
