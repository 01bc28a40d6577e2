"""The calendar feed with real components: a deploy planned, moved and cancelled by a
person in a real IRC channel (ngircd), and the feed fetched over HTTP from the intake as a
calendar app fetches it (a URL with ?token=, no headers), read back by icalendar and
vobject: one event throughout, its SEQUENCE rising, cancelled at the end."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import icalendar
import pytest
import vobject

from bot.clock import FakeClock
from bot.config import BUILTIN_PLUGINS
from bot.devtools.ircuser import IrcUser
from bot.text import clean
from plugins.intake.commands import IntakePlugin
from tests.servers.irc_bot import irc_bot
from tests.servers.ircd import IrcServer

pytestmark = pytest.mark.servers

WAIT = 10.0
T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
CAL_TOKEN = "calendar-token-for-apps"
_ids = itertools.count(1)


async def said(user: IrcUser, bot: str, channel: str, line: str, word: str) -> str:
    user.say(channel, line)
    found = await user.next_message(
        lambda m: m.sender.lower() == bot.lower() and word in m.text, timeout=WAIT
    )
    return clean(found.text)


async def fetch(http: aiohttp.ClientSession, url: str) -> list[Any]:
    """The feed's events, after checking both parsers read the same UIDs and times."""
    async with http.get(url) as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        raw = await response.read()
    ours = icalendar.Calendar.from_ical(raw).walk("VEVENT")
    theirs = list(vobject.readOne(raw.decode()).contents.get("vevent", []))
    assert [(str(e["UID"]), e.decoded("DTSTART")) for e in ours] == [
        (e.uid.value, e.dtstart.value) for e in theirs
    ]
    return theirs


async def test_a_plan_changed_in_irc_stays_one_event_in_the_feed(
    ngircd: IrcServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = next(_ids)
    bot, nick, channel = f"ddcal{n}", f"alice{n}", f"#cal{n}"
    monkeypatch.setenv("DEPLOYDAY_INTAKE_TOKEN", "intake-token")
    monkeypatch.setenv("DEPLOYDAY_CALENDAR_TOKEN", CAL_TOKEN)
    async with irc_bot(
        ngircd,
        tmp_path / "bot.sqlite3",
        bot,
        channel,
        clock=FakeClock(T0),
        identify_by="nick",
        admins=[f"{nick}@net"],
        plugins=[*BUILTIN_PLUGINS, "plugins.intake"],
        intake={"listen": "127.0.0.1:0"},
        plans={"calendar": {"domain": "deployday.example.org"}},
    ) as (app, _):
        intake = next(p for p in app.plugins if isinstance(p, IntakePlugin))
        assert intake.server is not None
        url = f"http://127.0.0.1:{intake.server.port}/calendar.ics?token={CAL_TOKEN}"
        user = await IrcUser.connect(ngircd.host, ngircd.port, nick, timeout=WAIT)
        try:
            await user.join(channel)
            async with aiohttp.ClientSession() as http:
                line = "!deploy plan pkgdb2 2026-11-25 09:00 --api-break packages API v2"
                assert (await said(user, bot, channel, line, "Planned")).startswith("Planned:")
                [planned] = await fetch(http, url)
                uid = "plan-1@deployday.example.org"
                assert (planned.uid.value, planned.sequence.value) == (uid, "0")
                assert planned.summary.value == "Deploy pkgdb2 (production) — API BREAK"
                assert planned.dtstart.value == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
                assert len(planned.valarm_list) == 3

                line = "!deploy move pkgdb2 2026-11-26 14:00"
                assert (await said(user, bot, channel, line, "Moved")).startswith("Moved:")
                [moved] = await fetch(http, url)
                assert (moved.uid.value, moved.sequence.value) == (uid, "1")
                assert moved.dtstart.value == planned.dtstart.value + timedelta(days=1, hours=5)

                line = "!deploy cancel pkgdb2"
                assert (await said(user, bot, channel, line, "Cancelled")).startswith("Cancelled")
                [cancelled] = await fetch(http, url)
                assert (cancelled.uid.value, cancelled.sequence.value) == (uid, "2")
                assert cancelled.status.value == "CANCELLED"
        finally:
            await user.quit()
