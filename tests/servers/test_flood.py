"""Against ngircd and InspIRCd with their *default* flood limits, a 41-line answer arrives
whole and in order, and the bot is neither throttled off nor killed for flooding."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser
from bot.messages import Sender
from bot.text import clean
from plugins.incidents.service import IncidentService
from tests.servers.irc_bot import irc_bot
from tests.servers.ircd import IrcServer

pytestmark = pytest.mark.servers

LINES = 40
LISTED = {"list_limit": LINES}
_ids = itertools.count(1)


async def test_a_long_answer_under_default_flood_limits(
    private_ircd: Callable[..., IrcServer], tmp_path: Path
) -> None:
    """Both servers at once: at one line a second, each answer takes about 40 s."""
    servers = [private_ircd(kind, default_flood=True) for kind in ("ngircd", "inspircd")]
    await asyncio.gather(*(long_answer(s, tmp_path / f"{s.kind}.sqlite3") for s in servers))


async def long_answer(server: IrcServer, database: Path) -> None:
    n = next(_ids)
    bot_nick, nick, channel = f"floodbot{n}", f"reader{n}", f"#flood{n}"
    clock = FakeClock()
    whole = {"flood": {}, "page_lines": LINES + 1}  # shipped limits, the answer at once
    user = await IrcUser.connect(server.host, server.port, nick, timeout=20)
    async with irc_bot(
        server, database, bot_nick, channel, clock=clock, network=whole, incidents=LISTED
    ) as (app, transport):
        assert app.config.networks["net"].flood.per_second == 1.0  # the shipped defaults
        reporter = await app.people.identify("net", Sender("seed", "seed"))
        for i in range(LINES):
            await IncidentService.of(app).report(
                f"svc{i}",
                f"broken thing number {i} " + "x" * 60,
                None,
                reporter,
                "net",
                channel,
                clock.now(),
            )

        user.say(bot_nick, "incidents all")  # private: no line cap
        got = [
            clean((await user.next_message(lambda m: m.sender == bot_nick, timeout=30)).text)
            for _ in range(LINES + 1)
        ]
        assert got[0] == f"{LINES} incidents"
        assert [line.split()[0] for line in got[1:]] == [f"#{i}" for i in range(1, LINES + 1)]
        user.say(bot_nick, "incidents mine")  # still connected and answering
        answer = await user.next_message(lambda m: m.sender == bot_nick, timeout=30)
        assert clean(answer.text) == "no incidents you own"
        assert transport.registrations == 1  # never dropped or reconnected
    await user.quit()
