"""Matrix rendering: HTML escaping of everything users typed, pills and m.mentions for
people known on the network, tables, the size cap, and reply fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.messages import Line, Mention, Reply, Span, Table, bold, code, text
from bot.transports.matrix.render import pill, render, strip_reply_fallback
from bot.transports.matrix.sync import _from_ms

BOB = Mention("bob", (("mx", "@bob:example.org", "Bob <B>"), ("irc", "bob", "bob")))


def test_every_span_is_escaped_and_styled() -> None:
    reply = Reply.of(
        [bold("<b>x</b>"), text(" & "), code("rm -rf <dir>"), text(" \"q\" 's' \x02\x00")]
    )
    content = render(reply, "mx")
    assert content["msgtype"] == "m.text"
    assert content["format"] == "org.matrix.custom.html"
    assert content["formatted_body"] == (
        "<strong>&lt;b&gt;x&lt;/b&gt;</strong> &amp; <code>rm -rf &lt;dir&gt;</code>"
        " &quot;q&quot; &#x27;s&#x27; "
    )
    assert content["body"] == "<b>x</b> & rm -rf <dir> \"q\" 's' "
    assert content["m.mentions"] == {"user_ids": []}


def test_lines_are_joined_and_user_text_cannot_add_lines() -> None:
    content = render(Reply.of("one\nfake line", "two"), "mx")
    assert content["body"] == "one fake line\ntwo"
    assert content["formatted_body"] == "one fake line<br>two"


def test_mentions_become_pills_on_their_network_and_plain_names_elsewhere() -> None:
    reply = Reply.of([text("page: "), BOB, text(", "), BOB, text(", "), Mention("carol")])
    content = render(reply, "mx")
    assert content["formatted_body"] == (
        'page: <a href="https://matrix.to/#/@bob:example.org">Bob &lt;B&gt;</a>, '
        '<a href="https://matrix.to/#/@bob:example.org">Bob &lt;B&gt;</a>, carol'
    )
    assert content["body"] == "page: Bob <B>, Bob <B>, carol"
    assert content["m.mentions"] == {"user_ids": ["@bob:example.org"]}
    assert render(reply, "other")["m.mentions"] == {"user_ids": []}


def test_pill_hrefs_cannot_break_out_of_the_attribute() -> None:
    assert pill('@x">:example.org', "<x>") == (
        '<a href="https://matrix.to/#/@x%22%3E:example.org">&lt;x&gt;</a>'
    )


def test_tables_render_as_html_tables_with_a_plain_fallback() -> None:
    table = Table(("#", "summary"), (("1", "<down>"), ("2", "ok")))
    content = render(Reply.of("incidents", table, "end"), "mx")
    assert content["formatted_body"] == (
        "incidents<table><thead><tr><th>#</th><th>summary</th></tr></thead>"
        "<tbody><tr><td>1</td><td>&lt;down&gt;</td></tr><tr><td>2</td><td>ok</td></tr>"
        "</tbody></table>end"
    )
    assert content["body"] == "incidents\n#  summary\n1  <down>\n2  ok\nend"


def test_a_note_goes_in_front_of_the_first_line() -> None:
    content = render(Reply.of("#1 opened"), "mx", note="[queued 10:02] ")
    assert content["body"] == "[queued 10:02] #1 opened"
    table_first = render(Reply.of(Table(("a",), (("1",),))), "mx", note="[queued 10:02]")
    assert table_first["body"].splitlines()[0] == "[queued 10:02]"


def test_too_big_replies_are_cut_between_lines_and_rows() -> None:
    rows = tuple((str(i), "x" * 50) for i in range(2000))
    content = render(Reply.of("head", Table(("n", "text"), rows)), "mx", limit=20_000)
    size = len(str(content["body"]).encode()) + len(str(content["formatted_body"]).encode())
    assert size <= 20_000
    last = str(content["body"]).splitlines()[-1]
    assert last.startswith("… ") and last.endswith(" more lines not shown")
    shown = str(content["body"]).count("x" * 50)
    assert int(last.split()[1]) == 2000 - shown
    assert str(content["formatted_body"]).count("<table>") == 1


def test_empty_spans_render_nothing() -> None:
    content = render(Reply((Line((Span(""), bold(""), code(""))),)), "mx")
    assert content["formatted_body"] == "" and content["body"] == ""


def test_reply_fallbacks_are_stripped() -> None:
    assert strip_reply_fallback("> <@a:x> !page infra\n> more\n\n!take 3") == "!take 3"
    assert strip_reply_fallback("!take 3") == "!take 3"
    assert strip_reply_fallback(">quoted only") == ""


def test_a_timestamp_no_calendar_holds_reads_as_the_distant_past() -> None:
    """Any homeserver may set origin_server_ts; one that overflows must not fail every
    sync (the batch would be retried forever): its message is ignored as too old."""
    assert _from_ms(1_764_000_000_000) == datetime(2025, 11, 24, 16, 0, tzinfo=UTC)
    assert _from_ms(2**53) == datetime.min.replace(tzinfo=UTC)
    assert _from_ms(-(2**53)) == datetime.min.replace(tzinfo=UTC)
