"""Pure Matrix rendering: a Reply becomes an `m.room.message` content with a plain `body`
and an `org.matrix.custom.html` `formatted_body`. Every piece of span text is cleaned and
HTML-escaped here, so nothing a user typed can become markup; mentions become matrix.to
pills and are listed in `m.mentions` so the mentioned people get notified."""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

from bot.messages import Block, Inline, Line, Mention, Reply, Span, Table, table_as_lines
from bot.text import clean

# Homeservers refuse events over 65536 bytes of JSON; leave room for the envelope.
MAX_CONTENT_BYTES = 60_000


def _esc(text: str) -> str:
    return html.escape(clean(text), quote=True)


def pill(user_id: str, display: str) -> str:
    """A mention pill: clients render the link as the person and notify them."""
    href = "https://matrix.to/#/" + quote(user_id, safe="@:")
    return f'<a href="{html.escape(href, quote=True)}">{_esc(display)}</a>'


@dataclass(frozen=True, slots=True)
class _Rendered:
    body: str
    html: str
    user_ids: tuple[str, ...]


def _inline_html(span: Inline, network: str, users: list[str]) -> str:
    if isinstance(span, Mention):
        known = span.on(network)
        if known is None:
            return _esc(span.name)
        user_id, display = known
        if user_id not in users:
            users.append(user_id)
        return pill(user_id, display or span.name)
    text = _esc(span.text)
    if not text:
        return ""
    if span.style == "bold":
        return f"<strong>{text}</strong>"
    if span.style == "code":
        return f"<code>{text}</code>"
    return text


def _inline_plain(span: Inline, network: str) -> str:
    if isinstance(span, Mention):
        known = span.on(network)
        return clean(known[1] if known and known[1] else span.name)
    return clean(span.text)


def _address(to: tuple[Mention, ...], network: str, users: list[str]) -> tuple[str, str]:
    """The people a line is addressed to, first: `Bob, Carol: ` as plain text and pills."""
    if not to:
        return "", ""
    plain = ", ".join(_inline_plain(m, network) for m in to) + ": "
    return plain, ", ".join(_inline_html(m, network, users) for m in to) + ": "


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in table.header)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _render_blocks(blocks: list[Block], network: str) -> _Rendered:
    plain: list[str] = []
    parts: list[str] = []
    users: list[str] = []
    previous_was_line = False
    for block in blocks:
        if isinstance(block, Table):
            safe = Table(
                tuple(clean(h) for h in block.header),
                tuple(tuple(clean(c) for c in row) for row in block.rows),
            )
            plain += table_as_lines(safe)
            parts.append(_table_html(block))
            previous_was_line = False
        else:
            head_plain, head_html = _address(block.to, network, users)
            plain.append(head_plain + "".join(_inline_plain(s, network) for s in block.spans))
            if previous_was_line:
                parts.append("<br>")
            parts.append(head_html + "".join(_inline_html(s, network, users) for s in block.spans))
            previous_was_line = True
    return _Rendered("\n".join(plain), "".join(parts), tuple(users))


def _size(r: _Rendered) -> int:
    return len(r.body.encode()) + len(r.html.encode()) + sum(len(u) + 4 for u in r.user_ids)


def _units(blocks: tuple[Block, ...]) -> list[Block]:
    """Lines and single table rows (each carrying its header), the pieces a reply that is
    too big for one event can be cut between."""
    units: list[Block] = []
    for block in blocks:
        if isinstance(block, Table) and block.rows:
            units += [Table(block.header, (row,)) for row in block.rows]
        else:
            units.append(block)
    return units


def _regroup(units: list[Block]) -> list[Block]:
    """Join neighbouring one-row tables with the same header back into one table."""
    out: list[Block] = []
    for unit in units:
        last = out[-1] if out else None
        if isinstance(unit, Table) and isinstance(last, Table) and last.header == unit.header:
            out[-1] = Table(last.header, last.rows + unit.rows)
        else:
            out.append(unit)
    return out


def render(
    reply: Reply, network: str, *, note: str | None = None, limit: int = MAX_CONTENT_BYTES
) -> dict[str, object]:
    """The event content for `reply` as seen on `network`. `note` (such as "[queued 10:02]")
    is put in front of the first line. A reply too big for one event is cut at a line or
    table row, and says how much was left out."""
    blocks = list(reply.blocks)
    if note:
        first = blocks[0] if blocks else Line(())
        if isinstance(first, Line):
            blocks[0:1] = [Line((Span(note), *first.spans), first.to)]
        else:
            blocks.insert(0, Line((Span(note),)))
    rendered = _render_blocks(blocks, network)
    if _size(rendered) > limit:
        units = _units(tuple(blocks))
        low, high = 0, len(units)  # largest prefix that fits, with the note about the rest
        while low < high:
            mid = (low + high + 1) // 2
            hidden = len(units) - mid
            trial = _render_blocks([*_regroup(units[:mid]), _more(hidden)], network)
            if _size(trial) <= limit:
                low = mid
            else:
                high = mid - 1
        rendered = _render_blocks([*_regroup(units[:low]), _more(len(units) - low)], network)
    return {
        "msgtype": "m.text",
        "body": rendered.body,
        "format": "org.matrix.custom.html",
        "formatted_body": rendered.html,
        "m.mentions": {"user_ids": list(rendered.user_ids)},
    }


def _more(hidden: int) -> Line:
    noun = "line" if hidden == 1 else "lines"
    return Line((Span(f"… {hidden} more {noun} not shown"),))


def strip_reply_fallback(body: str) -> str:
    """The text of a reply without the quoted lines clients put in front of it
    (`> <@who:server> original`, then an empty line), so `!take 3` sent as a reply is
    still a command."""
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:]) if i else body
