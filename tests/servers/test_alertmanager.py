"""The intake with real components: alerts posted to a real Prometheus Alertmanager reach
the bot through Alertmanager's own webhook and appear in a real IRC channel (miniircd);
the same alert firing again opens no second incident; its resolution is recorded. An
alert storm through the same path leaves chat answering. /metrics is scraped over HTTP."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.app import App
from bot.clock import SystemClock
from bot.config import BUILTIN_PLUGINS
from bot.devtools.ircuser import IrcUser
from bot.loading import build_config
from bot.text import clean
from bot.transports.irc import IrcTransport
from plugins.models import AlertIncident, Incident
from tests.gate import ReportGate
from tests.servers.alertmanager import Alertmanager, am_alert
from tests.servers.ircd import IrcServer

pytestmark = pytest.mark.servers

WAIT = 20.0  # Alertmanager groups for 1 s, then re-sends a changed group every 2 s
_ids = itertools.count(1)


@asynccontextmanager
async def bot_on_irc(
    miniircd: IrcServer, am: Alertmanager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[App, IrcUser, str, str]]:
    """The bot on miniircd with its intake where Alertmanager delivers, and one person in
    its channel (an admin): (app, person, channel, bot's nick)."""
    n = next(_ids)
    channel, bot_nick, nick = f"#alerts{n}", f"ddam{n}", f"alice{n}"
    monkeypatch.setenv("DEPLOYDAY_INTAKE_TOKEN", am.token)
    config = build_config(
        {
            "database": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            "admins": [nick],
            "plugins": [*BUILTIN_PLUGINS, "plugins.intake"],
            "intake": {"listen": f"127.0.0.1:{am.intake_port}"},
            "networks": {
                "local": {
                    "kind": "irc",
                    "host": miniircd.host,
                    "port": miniircd.port,
                    "tls": False,
                    "nick": bot_nick,
                    "channels": [channel],
                    "flood": {"burst": 20, "per_second": 20},
                }
            },
        }
    )
    clock = SystemClock()  # Alertmanager stamps alerts with the real time
    transport = IrcTransport("local", config.networks["local"], clock=clock, tz=config.tz)
    app = App(config, [transport], clock=clock)
    await app.start()
    user = await IrcUser.connect(miniircd.host, miniircd.port, nick, timeout=WAIT)
    try:
        async with asyncio.timeout(WAIT):
            await transport.wait_ready()
        await user.join(channel)
        yield app, user, channel, bot_nick
    finally:
        await user.quit()
        await app.stop()


async def seen(user: IrcUser, bot: str, pattern: str) -> str:
    regex = re.compile(pattern)
    found = await user.next_message(
        lambda m: m.sender.lower() == bot.lower() and bool(regex.search(clean(m.text))),
        timeout=WAIT,
    )
    return clean(found.text)


async def counts(app: App) -> tuple[int, int]:
    return await app.store.read(
        lambda c: (
            c.scalar(select(func.count(Incident.id))),
            c.scalar(select(func.count(AlertIncident.id))),
        )
    )


async def test_alertmanager_alerts_reach_a_real_irc_channel(
    miniircd: IrcServer,
    alertmanager: Alertmanager,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with bot_on_irc(miniircd, alertmanager, tmp_path, monkeypatch) as (app, user, ch, bot):
        name = f"PkgdbDown{next(_ids)}"
        user.say(ch, "!deploy start pkgdb9")
        await seen(user, bot, "Deploy day")

        await alertmanager.post(am_alert(name, "db1", service="pkgdb", severity="critical"))
        assert await seen(user, bot, "new incident") == (
            f"new incident #1 [sev1] pkgdb: {name}: db1 is down (reported by alertmanager)"
        )

        # db1 still firing, db2 joins its group: Alertmanager sends the group again
        await alertmanager.post(
            am_alert(name, "db1", service="pkgdb", severity="critical"),
            am_alert(name, "db2", service="pkgdb", severity="warning"),
        )
        assert await seen(user, bot, "new incident") == (
            f"new incident #2 [sev3] pkgdb: {name}: db2 is down (reported by alertmanager)"
        )
        assert await counts(app) == (2, 2)  # db1 firing again opened nothing

        ended = datetime.now(UTC) - timedelta(seconds=1)
        await alertmanager.post(
            am_alert(name, "db1", service="pkgdb", severity="critical", resolved_at=ended)
        )
        fixed = await seen(user, bot, "fixed by alertmanager")
        assert re.fullmatch(
            r"#1 pkgdb fixed by alertmanager after \d+s: resolved by alertmanager", fixed
        )
        user.say(ch, "!show 1")
        assert (await seen(user, bot, "alertmanager fixed it")).endswith(
            "alertmanager fixed it: resolved by alertmanager"
        )
        assert await counts(app) == (2, 2)

        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{alertmanager.intake_port}/metrics",
                headers={"Authorization": f"Bearer {alertmanager.token}"},
            ) as response,
        ):
            text = await response.text()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert samples["deployday_open_incidents", (("severity", "1"),)] == 0
        assert samples["deployday_open_incidents", (("severity", "3"),)] == 1
        assert samples["deployday_network_connected", (("kind", "irc"), ("network", "local"))] == 1
        assert samples["deployday_alerts_total", (("outcome", "opened"),)] == 2
        assert samples["deployday_alerts_total", (("outcome", "fixed"),)] == 1


async def test_an_alert_storm_through_alertmanager_leaves_chat_answering(
    miniircd: IrcServer,
    alertmanager: Alertmanager,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with bot_on_irc(miniircd, alertmanager, tmp_path, monkeypatch) as (app, user, ch, bot):
        user.say(ch, "!deploy start koji9")
        await seen(user, bot, "Deploy day")  # the person is known: no write to answer them
        gate = ReportGate(app)
        name = f"InstanceDown{next(_ids)}"
        await alertmanager.post(
            *(am_alert(name, f"node{n}", service="koji", severity="warning") for n in range(1000))
        )
        assert await gate.entered()
        user.say(ch, "!incidents")
        assert await seen(user, bot, "incidents") == "no open incidents"
        gate.open()
        assert await seen(user, bot, "Alert storm") == (
            "Alert storm: 1000 alerts from alertmanager — 1000 incidents opened (#1-#1000); "
            "most hit: koji 1000; !incidents lists the open ones"
        )
        assert await counts(app) == (1000, 1000)
        user.say(ch, "!incidents")
        assert (await seen(user, bot, "open incidents")).startswith("1000 open incidents")
