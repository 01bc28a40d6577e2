"""Pure IRC text helpers: rendering a Reply as lines, cutting lines so the relayed message
fits 512 bytes on UTF-8 character boundaries, and keeping CR, LF and NUL off the wire.
Nothing here touches the network, so every rule about what reaches the wire is
unit-tested directly."""

from __future__ import annotations

import re

from bot.messages import Inline, Mention, Reply, Table, table_as_lines
from bot.text import clean

LINE_LIMIT = 512  # bytes, CR LF included, as the server relays it to everyone else
BOLD = "\x02"
# Until the server shows the bot its own user@host (JOIN echo, 396), assume a long one:
# ident (10) + "@" + a 63-byte host, with room to spare for cloaks and vhosts.
UNKNOWN_USERHOST_BYTES = 100
# A piece must hold the widest UTF-8 character plus a bold code on each side.
MIN_PIECE_BYTES = 6

_WIRE_UNSAFE = re.compile(r"[\r\n\0]")


def valid_target(target: str) -> bool:
    """A channel or nick a PRIVMSG may be addressed to: nothing that would split the line
    or be read as its last argument."""
    return bool(target) and not any(c in target for c in " ,\r\n\0") and target[0] != ":"


def privmsg_budget(nick: str, userhost: str | None, target: str) -> int:
    """Bytes left for the text once the server prefixes `:nick!user@host PRIVMSG target :`
    and appends CR LF when relaying the bot's message."""
    userhost_bytes = len(userhost.encode()) if userhost else UNKNOWN_USERHOST_BYTES
    overhead = len(f":{nick}! PRIVMSG {target} :\r\n".encode()) + userhost_bytes
    return LINE_LIMIT - overhead


def _inline(span: Inline, network: str) -> str:
    if isinstance(span, Mention):
        known = span.on(network)
        return clean(known[1] if known else span.name)
    text = clean(span.text)
    if span.style == "bold" and text:
        return f"{BOLD}{text}{BOLD}"
    return text


def render_lines(reply: Reply, network: str) -> list[str]:
    """One IRC line per Line block (bold as ^B, code plain, mentions as the person's nick on
    `network`, the people a line is addressed to first), tables as fixed-width lines. All
    span text is cleaned first, so user text cannot carry line breaks or formatting into
    the bot's own."""
    lines: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Table):
            safe = Table(
                tuple(clean(h) for h in block.header),
                tuple(tuple(clean(c) for c in row) for row in block.rows),
            )
            lines += table_as_lines(safe)
        else:
            body = "".join(_inline(s, network) for s in block.spans)
            lines.append(_address(block.to, network) + body)
    return lines


def _address(to: tuple[Mention, ...], network: str) -> str:
    """`bob,carol: ` — the form every common client highlights: irssi by default only a
    line that starts with the nick, or with a comma-separated list (no spaces) of nicks
    that contains it; weechat the nick as a word anywhere. No formatting before it."""
    return ",".join(_inline(m, network) for m in to) + ": " if to else ""


def _is_blank(piece: bytes) -> bool:
    return not piece.replace(BOLD.encode(), b"").strip(b" ")


def split_line(text: str, limit: int) -> list[str]:
    """Cut one line into pieces of at most `limit` UTF-8 bytes, never inside a character,
    preferably at a space. Bold that is open at a cut is closed there and reopened on the
    next piece. CR, LF and NUL become spaces; blank pieces are dropped."""
    if limit < MIN_PIECE_BYTES:
        raise ValueError(f"a line needs at least {MIN_PIECE_BYTES} bytes, got {limit}")
    rest = _WIRE_UNSAFE.sub(" ", text).encode()
    bold_code = BOLD.encode()
    pieces: list[str] = []
    bold = False
    while rest:
        head = bold_code if bold else b""
        if len(head) + len(rest) <= limit:
            chunk, rest = rest, b""
        else:
            cut = limit - len(head) - 1  # one byte kept for closing bold
            while rest[cut] & 0xC0 == 0x80:  # rest[cut] would start the next piece
                cut -= 1
            space = rest.rfind(b" ", 0, cut + 1)
            if space >= cut // 2:
                chunk, rest = rest[:space], rest[space + 1 :]
            else:
                chunk, rest = rest[:cut], rest[cut:]
        open_at_end = bold != (chunk.count(bold_code) % 2 == 1)
        piece = head + chunk + (bold_code if open_at_end and rest else b"")
        bold = open_at_end
        if not _is_blank(piece):
            pieces.append(piece.decode())
    return pieces


def more_lines_note(hidden: int) -> str:
    noun = "line" if hidden == 1 else "lines"
    return f"… {hidden} more {noun}; ask me in a private message for all of it"


def cap_lines(lines: list[str], max_lines: int) -> list[str]:
    """At most `max_lines` lines; the last one says how many were left out."""
    if len(lines) <= max_lines:
        return lines
    keep = max_lines - 1
    return [*lines[:keep], more_lines_note(len(lines) - keep)]


def wire_lines(reply: Reply, network: str, budget: int, max_lines: int | None) -> list[str]:
    """Everything `reply` becomes on the wire to one target: rendered, split to `budget`
    bytes per line and, for channels, capped at `max_lines`."""
    pieces = [p for line in render_lines(reply, network) for p in split_line(line, budget)]
    return pieces if max_lines is None else cap_lines(pieces, max_lines)
