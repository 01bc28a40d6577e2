"""Cleaning text at the edges and formatting times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.messages import Mention, Reply, Table, bold, render_plain_lines, text
from bot.text import clean
from plugins.common.chat import clock_time, duration


def test_clean_removes_formatting_controls_and_line_breaks() -> None:
    assert clean("\x02bold\x02 \x0304,12red\x03 \x1ditalic\x0f") == "bold red italic"
    assert clean("one\r\ntwo\tthree\x00four") == "one two threefour"
    assert clean("evil \u202etxt.exe") == "evil txt.exe"
    assert clean("emoji 👩‍💻 stays") == "emoji 👩‍💻 stays"


@given(st.text())
def test_clean_output_has_no_controls(value: str) -> None:
    out = clean(value)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in out)


def test_durations_read_like_people_write_them() -> None:
    cases = {
        0: "0s",
        45: "45s",
        60: "1m",
        250: "4m 10s",
        3600: "1h",
        4320: "1h 12m",
        86400: "1d",
        183600: "2d 3h",
    }
    for seconds, expected in cases.items():
        assert duration(timedelta(seconds=seconds)) == expected
    assert duration(None) == "—"
    assert duration(timedelta(seconds=-5)) == "0s"


def test_clock_time_in_the_configured_zone() -> None:
    tz = ZoneInfo("Europe/Prague")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert clock_time(datetime(2026, 11, 25, 8, 5, tzinfo=UTC), tz, now) == "09:05"
    assert clock_time(datetime(2026, 11, 24, 8, 5, tzinfo=UTC), tz, now) == "Nov 24 09:05"


def test_plain_rendering_of_rich_replies() -> None:
    reply = Reply.of(
        [bold("#1"), text(" owned by "), Mention("bob", (("irc", "bob", "Bob"),))],
        Table(("id", "service"), (("1", "pkgdb"), ("22", "fas"))),
    )
    assert render_plain_lines(reply) == ["#1 owned by bob", "id  service", "1   pkgdb", "22  fas"]
    assert [m.name for m in reply.mentions] == ["bob"]
    assert reply.mentions[0].on("irc") == ("bob", "Bob") and reply.mentions[0].on("x") is None
