"""When the two most common terminal IRC clients highlight a channel line for a nick, on
their default settings; checked against their sources (irssi 1.4: `nick_match_msg` in
src/core/nicklist.c, `hilight_nick_matches_everywhere` off; weechat 4: `$nick` in
`irc.look.highlight_channel`, `string_has_highlight` with `word_chars_highlight`
`!\\u00A0,-,_,|,alnum`). Exact nick matches only; their fuzzy rules for nicks with
punctuation are not modelled."""

from __future__ import annotations


def _word_char(c: str) -> bool:
    return c.isalnum() or c in "-_|"


def irssi_highlights(line: str, nick: str) -> bool:
    """The line starts with the nick, or with a comma-separated list of words (no spaces)
    that holds it, followed by something that is not a letter or digit."""
    head = line.split(" ", 1)[0]
    for word in head.split(","):
        if word[: len(nick)].casefold() == nick.casefold() and not word[len(nick) :][:1].isalnum():
            return True
    return False


def weechat_highlights(line: str, nick: str) -> bool:
    """The nick anywhere as a whole word (case-insensitive)."""
    text, wanted = line.casefold(), nick.casefold()
    start = text.find(wanted)
    while start >= 0:
        end = start + len(wanted)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not _word_char(before) and not _word_char(after):
            return True
        start = text.find(wanted, start + 1)
    return False


def highlighted(line: str, nick: str) -> bool:
    """Both clients, on their defaults, highlight `line` for `nick`."""
    return irssi_highlights(line, nick) and weechat_highlights(line, nick)
