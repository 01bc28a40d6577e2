"""One person's long private answers cannot starve everyone else (issue 11, reproduction
7): on ngircd with its default flood penalty, two people read an incident with 150 notes
privately while a third asks for `!incidents` in the channel; the channel's answer comes
within seconds, not after 300 lines (46 s before). Long private answers come a page at a
time: `more` sends the next."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.clock import SystemClock
from bot.devtools.ircuser import IrcUser
from bot.messages import Sender
from bot.text import clean
from plugins.incidents.lifecycle import Action
from plugins.incidents.service import IncidentService
from tests.servers.irc_bot import irc_bot
from tests.servers.ircd import IrcServer

pytestmark = pytest.mark.servers

NOTES = 150
WITHIN = 5.0  # seconds for the channel's answer
_ids = itertools.count(1)


@asynccontextmanager
async def bot_on(
    server: IrcServer, database: Path, nick: str, channel: str, **network: Any
) -> AsyncIterator[App]:
    """The bot on `server` with incident #1 carrying NOTES notes, ready in `channel`."""
    clock = SystemClock()
    async with irc_bot(server, database, nick, channel, clock=clock, network=network) as (
        app,
        _,
    ):
        incidents = IncidentService.of(app)
        someone = await app.people.identify("net", Sender("seed", "seed"))
        await incidents.report("pkgdb", "down", None, someone, "net", channel, clock.now())
        for i in range(NOTES):
            await incidents.act(
                1, Action.NOTE, someone, clock.now(), network="net", room=channel, detail=f"n{i}"
            )
        yield app


def from_bot(nick: str) -> Callable[[Any], bool]:
    return lambda m: m.sender == nick


async def test_a_channel_answer_is_not_held_up_by_private_backlogs(
    private_ircd: Callable[..., IrcServer],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    server = private_ircd("ngircd", default_flood=True)
    n = next(_ids)
    nick, channel = f"fairbot{n}", f"#fair{n}"
    people = await asyncio.gather(
        *(IrcUser.connect(server.host, server.port, f"{who}{n}") for who in ("ann", "ben", "cat"))
    )
    ann, ben, cat = people
    await cat.join(channel)
    # both answers are queued whole, as in the reproduction
    shipped = {"flood": {}, "page_lines": 200}  # pages as long as the answers
    async with bot_on(server, tmp_path / "fair.sqlite3", nick, channel, **shipped) as app:
        assert app.config.networks["net"].flood.per_second == 1.0  # the shipped defaults
        ann.say(nick, "show 1")
        ben.say(nick, "show 1")
        for reader in (ann, ben):
            first = await reader.next_message(from_bot(nick), timeout=20)
            assert clean(first.text).startswith("#1 [sev3] pkgdb: down")
        asked = time.monotonic()
        cat.say(channel, "!incidents")
        answer = await cat.next_message(from_bot(nick), timeout=WITHIN)
        waited = time.monotonic() - asked
        record_property("channel_answer_seconds", round(waited, 3))  # in --junitxml
        assert clean(answer.text) == "1 open incident", waited
        assert waited < WITHIN
    for person in people:
        await person.quit()


async def test_a_long_private_answer_comes_a_page_at_a_time(
    miniircd: IrcServer, tmp_path: Path
) -> None:
    n = next(_ids)
    nick, channel = f"pagebot{n}", f"#page{n}"
    ann = await IrcUser.connect(miniircd.host, miniircd.port, f"pager{n}")
    lifted = {"flood": {"burst": 1000, "per_second": 1000}}
    async with bot_on(miniircd, tmp_path / "page.sqlite3", nick, channel, **lifted):

        async def page() -> list[str]:
            """Lines up to the one saying how much more there is."""
            lines = [clean((await ann.next_message(from_bot(nick), timeout=10)).text)]
            while not lines[-1].startswith("… "):
                lines.append(clean((await ann.next_message(from_bot(nick), timeout=10)).text))
            return lines

        ann.say(nick, "show 1")
        first = await page()  # the incident, its report, then 150 notes: 152 lines
        assert len(first) == 20 and first[0].startswith("#1 [sev3] pkgdb: down")
        assert first[-1] == "… 133 more lines: say !more for the next 19 (kept for 30 minutes)"
        ann.say(nick, "more")
        second = await page()
        assert len(second) == 20 and second[-1].startswith("… 114 more lines")
        ann.say(channel, "!more")  # asked in a channel, the page still comes privately
        assert (await page())[-1].startswith("… 95 more lines")
    await ann.quit()
