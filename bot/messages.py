"""The transport-neutral vocabulary: what plugins receive and what they answer with."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# The most text a transport hands over in one Message: a Matrix event cannot be larger, and
# nothing anyone types needs more (the dispatcher reads far less of a command; see there).
MAX_TEXT_CHARS = 65_536


class IdentifiedBy(StrEnum):
    """How a network says who someone is. It decides what a typed name means there, what
    may be linked, and whether admin rights may rest on it."""

    ACCOUNT = "services account"  # IRC with account tracking; "~nick": not logged in
    NICK = "nick"  # declared (`identify_by: nick`): anyone can take a nick
    AUTO_NICK = "nick, for want of account tracking"  # `auto` on a server without it
    USER_ID = "Matrix user ID"
    OPERATOR = "local operator"  # the console: whoever types owns the database anyway

    @property
    def by_nick(self) -> bool:
        return self in (IdentifiedBy.NICK, IdentifiedBy.AUTO_NICK)


@dataclass(frozen=True, slots=True)
class Sender:
    """Who spoke. `id` is stable per network (IRC account or nick, Matrix user ID).
    `room_admin`: the transport vouches they administer the room (Matrix power level at
    or above the configured one), which makes them a bot admin there. `origin`: where an
    IRC user connects from (user@host), which a nick change leaves as it is, so limits
    kept per person survive one."""

    id: str
    nick: str
    authenticated: bool = False
    room_admin: bool = False
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    is_direct: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    network: str
    room: Room
    sender: Sender
    text: str
    event_id: str | None = None
    server_time: datetime | None = None


# --- rich replies -------------------------------------------------------------------------
# A reply is a list of blocks made of spans. Transports render it: IRC as plain lines (with
# its own bold codes), Matrix as HTML plus a plain body. Span text is never trusted markup.


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    style: str = "plain"  # plain | bold | code


@dataclass(frozen=True, slots=True)
class Mention:
    """A person to highlight; each transport picks the identity it knows on its network."""

    name: str
    ids: tuple[tuple[str, str, str], ...] = ()  # (network, stable id, display nick)

    def on(self, network: str) -> tuple[str, str] | None:
        """(stable id, display nick) of this person on `network`, if known there."""
        return next(((i, n) for net, i, n in self.ids if net == network), None)

    @property
    def text(self) -> str:
        return self.name


Inline = Span | Mention


@dataclass(frozen=True, slots=True)
class Line:
    """A line of text; `to`: the people it is addressed to (a page, a reminder). Each
    transport puts them first in the form its clients highlight (IRC: `bob,carol: …`)."""

    spans: tuple[Inline, ...]
    to: tuple[Mention, ...] = ()

    @property
    def plain(self) -> str:
        head = ", ".join(m.text for m in self.to) + ": " if self.to else ""
        return head + "".join(s.text for s in self.spans)


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Line | Table


@dataclass(frozen=True, slots=True)
class Reply:
    blocks: tuple[Block, ...]
    mentions: tuple[Mention, ...] = field(default=())

    @staticmethod
    def of(*lines: str | Iterable[Inline] | Line | Table) -> Reply:
        blocks: list[Block] = []
        mentions: list[Mention] = []
        for item in lines:
            block = _as_block(item)
            blocks.append(block)
            if isinstance(block, Line):
                mentions += [*block.to, *(s for s in block.spans if isinstance(s, Mention))]
        return Reply(tuple(blocks), tuple(mentions))

    @property
    def plain(self) -> str:
        return "\n".join(render_plain_lines(self))

    def __add__(self, other: Reply) -> Reply:
        return Reply(self.blocks + other.blocks, self.mentions + other.mentions)


def _as_block(item: str | Iterable[Inline] | Line | Table) -> Block:
    if isinstance(item, Line | Table):
        return item
    if isinstance(item, str):
        return Line((Span(item),))
    return Line(tuple(item))


def addressed(to: Iterable[Mention], spans: Iterable[Inline]) -> Line:
    """A line for these people to notice: pages and reminders."""
    return Line(tuple(spans), tuple(to))


def bold(text: object) -> Span:
    return Span(str(text), "bold")


def code(text: object) -> Span:
    return Span(str(text), "code")


def text(value: object) -> Span:
    return Span(str(value))


def table_as_lines(table: Table) -> list[str]:
    """Fixed-width plain rendering used wherever HTML is not available."""
    widths = [len(h) for h in table.header]
    for row in table.rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [fmt(table.header), *(fmt(r) for r in table.rows)]


def render_plain_lines(reply: Reply) -> list[str]:
    out: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Table):
            out += table_as_lines(block)
        else:
            out.append(block.plain)
    return out


# --- replies as JSON, for announcements that travel between instances --------------------


def reply_to_json(reply: Reply) -> str:
    def block(b: Block) -> dict[str, Any]:
        if isinstance(b, Table):
            return {"table": [list(b.header), [list(r) for r in b.rows]]}
        return {
            "line": [
                mention(s) if isinstance(s, Mention) else {"span": [s.text, s.style]}
                for s in b.spans
            ],
            "to": [mention(m) for m in b.to],
        }

    def mention(m: Mention) -> dict[str, Any]:
        return {"mention": [m.name, [list(i) for i in m.ids]]}

    return json.dumps([block(b) for b in reply.blocks], ensure_ascii=False)


def reply_from_json(text: str) -> Reply:
    def mention(m: dict[str, Any]) -> Mention:
        name, ids = m["mention"]
        return Mention(name, tuple((n, i, d) for n, i, d in ids))

    blocks: list[Block] = []
    for b in json.loads(text):
        if "table" in b:
            header, rows = b["table"]
            blocks.append(Table(tuple(header), tuple(tuple(r) for r in rows)))
            continue
        spans = [mention(s) if "mention" in s else Span(*s["span"]) for s in b["line"]]
        blocks.append(Line(tuple(spans), tuple(mention(m) for m in b.get("to", ()))))
    return Reply.of(*blocks)
