"""Whatever people type, nothing reaches a wire or a file in a form that can hurt:
no CR/LF/NUL or over-long lines on IRC, no formatting bleeding past the bot's own, no
markup in Matrix HTML but the bot's, no formulas in CSV, no broken Markdown tables.
Property-based: hypothesis generates arbitrary Unicode, control characters and huge text."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Line, Mention, Reply, Span, Table
from bot.text import clean
from bot.transports.irc.text import LINE_LIMIT, privmsg_budget, wire_lines
from bot.transports.matrix.render import render
from plugins.common.files import csv_cell, md_cell

NASTY = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(
            [
                "\r",
                "\n",
                "\0",
                "\x02",
                "\x03",
                "\x0f",
                "\x1d",
                "<",
                ">",
                "&",
                '"',
                "|",
                "\\",
                "=",
                "+",
                "-",
                "@",
                "\t",
                "\u202e",
                "é",
                "✓",
                "👩",
                "\u200d",
            ]
        ),
    ),
    max_size=600,
)
HUGE = st.builds(lambda s, n: s * n, NASTY.filter(bool), st.integers(1, 40))
TEXT = st.one_of(NASTY, HUGE)

SPAN = st.builds(Span, TEXT, st.sampled_from(["plain", "bold", "code"]))
MENTION = st.builds(
    lambda name, key, nick: Mention(name, (("net", key, nick),)),
    TEXT,
    st.from_regex(r"@[a-z]{1,8}:example\.org", fullmatch=True),
    TEXT,
)
LINE = st.builds(lambda spans: Line(tuple(spans)), st.lists(st.one_of(SPAN, MENTION), max_size=6))
TABLE = st.builds(
    lambda header, rows: Table(
        tuple(header), tuple(tuple(r[: len(header)] + [""] * (len(header) - len(r))) for r in rows)
    ),
    st.lists(TEXT, min_size=1, max_size=4),
    st.lists(st.lists(TEXT, max_size=4), max_size=5),
)
REPLY = st.builds(
    lambda blocks: Reply.of(*blocks), st.lists(st.one_of(LINE, TABLE), min_size=1, max_size=6)
)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(REPLY, st.sampled_from(["#ops", "someone"]), st.sampled_from([None, 10]))
def test_irc_lines_are_safe(reply: Reply, target: str, cap: int | None) -> None:
    nick, userhost = "deployday", "deployday@host.example.org"
    budget = privmsg_budget(nick, userhost, target)
    for line in wire_lines(reply, "net", budget, cap):
        relayed = f":{nick}!{userhost} PRIVMSG {target} :{line}\r\n".encode()
        assert len(relayed) <= LINE_LIMIT
        assert not any(c in line for c in "\r\n\0")
        # the bot's only formatting is bold, always closed on the same line
        assert not any(c in line for c in "\x03\x0f\x1d\x1e\x1f\x16\x11")
        assert line.count("\x02") % 2 == 0


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@FAST
@given(REPLY)
def test_matrix_html_holds_only_the_bots_markup(reply: Reply) -> None:
    content = render(reply, "net")
    parser = _Tags()
    parser.feed(str(content["formatted_body"]))
    parser.close()
    allowed = {"strong", "code", "br", "table", "thead", "tbody", "tr", "th", "td", "a", "p"}
    for tag, attrs in parser.tags:
        assert tag in allowed, tag
        if tag == "a":
            assert [k for k, _ in attrs] == ["href"]
            assert str(dict(attrs)["href"]).startswith("https://matrix.to/#/@")
        else:
            assert attrs == []
    assert set(content["m.mentions"]["user_ids"]) <= {  # type: ignore[index]
        i for m in reply.mentions for _, i, _ in m.ids
    }


@FAST
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_csv_cells_never_start_a_formula(cells: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out).writerow([csv_cell(c) for c in cells])
    [row] = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(row) == len(cells)
    for parsed, original in zip(row, cells, strict=True):
        assert not parsed.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert parsed.removeprefix("'") == original or parsed == original


@FAST
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_markdown_cells_keep_the_table_shape(cells: list[str]) -> None:
    row = "| " + " | ".join(md_cell(c) for c in cells) + " |"
    assert "\n" not in row and "\r" not in row
    unescaped = row.replace("\\\\", "").replace("\\|", "")
    assert unescaped.count("|") == len(cells) + 1
    assert "<" not in row.replace("<br>", "")


# Pieces of Markdown link syntax people could type to smuggle a link into a digest or an
# export, joined in any order with ordinary text.
LINKY = st.lists(
    st.sampled_from(
        [
            "[",
            "]",
            "(",
            ")",
            "!",
            "<",
            ">",
            ":",
            "//",
            "http",
            "https",
            "ftp",
            "www",
            ".",
            "evil",
            "x.org",
            " ",
            "\\",
            "|",
            "*",
            "_",
            "`",
            "\n",
            "@",
            "&",
            "#",
            "-",
            "=",
            "\t",
        ]
    ),
    max_size=40,
).map("".join)
CELL = st.one_of(LINKY, NASTY)
# What the bot's own Markdown may become; a link only as GitHub shows a mail address.
ALLOWED = {"p", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "h1", "h2", "br",
           "em", "strong", "del", "code", "a"}  # fmt: skip


@FAST
@given(st.lists(CELL, min_size=1, max_size=4))
def test_no_link_or_image_from_chat_text_in_markdown_files(cells: list[str]) -> None:
    """Rendered the way GitHub renders Markdown, nothing anyone typed becomes a link, an
    image or HTML: not `[x](http://evil)`, `![img](…)`, `<http://…>` nor a bare URL.
    (Chat text is cleaned when it arrives: lone surrogates never reach a file.)"""
    cells = [clean(c) for c in cells]
    row = "| " + " | ".join(md_cell(c) for c in cells) + " |"
    document = "\n".join(
        [
            f"# Deploy digest: {md_cell(cells[0])}",
            "",
            "| " + " | ".join("h" for _ in cells) + " |",
            "|" + "---|" * len(cells),
            row,
            "",
            *(f"- 09:00 {md_cell(c)}" for c in cells),
        ]
    )
    html = cmarkgfm.github_flavored_markdown_to_html(document, options=Options.CMARK_OPT_UNSAFE)
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED, (tag, html)
        if tag == "a":
            href = str(dict(attrs).get("href"))
            assert href.startswith(("mailto:", "xmpp:")), (href, html)
