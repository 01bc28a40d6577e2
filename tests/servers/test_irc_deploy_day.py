"""A deploy day played by two people through the whole bot on real IRC servers
(miniircd, ngircd, InspIRCd with Atheme accounts), checking the replies they see."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser
from bot.loading import build_config
from bot.text import clean
from bot.transports.irc import IrcTransport
from tests.servers.ircd import IrcServer

pytestmark = pytest.mark.servers

WAIT = 10.0
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


async def person(server: IrcServer, nick: str) -> IrcUser:
    """On a network with services, people are logged in to their account."""
    if server.accounts:
        return await server.register_account(nick, f"pw-{nick}")
    return await IrcUser.connect(server.host, server.port, nick, timeout=WAIT)


async def answer(user: IrcUser, bot: str, pattern: str) -> str:
    """The bot's next line this user sees that matches `pattern`, bold codes removed."""
    regex = re.compile(pattern)
    found = await user.next_message(
        lambda m: m.sender.lower() == bot.lower() and bool(regex.search(clean(m.text))),
        timeout=WAIT,
    )
    return clean(found.text)


async def test_a_deploy_day_on_a_real_irc_server(irc_server: IrcServer, tmp_path: Path) -> None:
    alice_nick, bob_nick = unique("alice"), unique("bob")
    channel, bot_nick = unique("#deploy"), unique("dd")
    clock = FakeClock(T0)
    config = build_config(
        {
            "database": f"sqlite:///{tmp_path / 'day.sqlite3'}",
            "admins": [f"{alice_nick}@net"],
            "networks": {
                "net": {
                    "kind": "irc",
                    "host": irc_server.host,
                    "port": irc_server.port,
                    "tls": False,
                    "nick": bot_nick,
                    "channels": [channel],
                    # without services, admins are nicks: that must be said
                    "identify_by": "auto" if irc_server.accounts else "nick",
                    "flood": {"burst": 20, "per_second": 20},
                }
            },
        }
    )
    transport = IrcTransport("net", config.networks["net"], clock=clock, tz=config.tz)
    app = App(config, [transport], clock=clock)
    await app.start()
    alice, bob = await asyncio.gather(person(irc_server, alice_nick), person(irc_server, bob_nick))
    try:
        async with asyncio.timeout(WAIT):
            await transport.wait_ready()
        await alice.join(channel)
        await bob.join(channel)

        alice.say(channel, "!deploy start pkgdb2 --api-break packages API v2")
        assert await answer(bob, bot_nick, "Deploy day") == (
            f"Deploy day: deploy pkgdb2 started by {alice_nick} — API BREAK — packages API v2"
        )

        alice.say(channel, f"!roster add {bob_nick} infra")
        assert await answer(alice, bot_nick, "roster") == f"{bob_nick} is on the infra roster"

        clock.set(T0 + timedelta(minutes=2))
        bob.say(channel, "!checkin")
        assert await answer(bob, bot_nick, "is on duty for") == f"{bob_nick} is on duty for infra"

        clock.set(T0 + timedelta(minutes=5))
        alice.say(channel, "!break pkgdb API returns 500 on /packages — ünïcode ✓")
        assert await answer(bob, bot_nick, "opened") == (
            "#1 opened: [sev3] pkgdb: API returns 500 on /packages — ünïcode ✓ — !take 1 to own it"
        )

        clock.set(T0 + timedelta(minutes=7))
        bob.say(channel, "!take #1")
        assert await answer(alice, bot_nick, "owned") == (
            f"#1 is now owned by {bob_nick} (acknowledged 2m after the report)"
        )

        bob.say(channel, "!note 1 rolling back")
        assert await answer(bob, bot_nick, "noted") == "noted on #1"

        clock.set(T0 + timedelta(minutes=12))
        bob.say(channel, "!fixed 1 rolled back")
        assert await answer(alice, bot_nick, "fixed by") == (
            f"#1 pkgdb fixed by {bob_nick} after 7m: rolled back"
        )

        alice.say(channel, "!mttr")
        assert await answer(alice, bot_nick, "^MTTR") == (
            "MTTR for deploy pkgdb2: 1 incident — 1 fixed"
        )
        assert await answer(alice, bot_nick, "repair") == (
            "time to repair: n=1, mean 7m, median 7m, p90 7m"
        )

        alice.say(bot_nick, "incidents all")  # a private message needs no prefix
        private = await alice.next_message(
            lambda m: m.target.lower() == alice_nick.lower(), timeout=WAIT
        )
        assert clean(private.text) == "1 incident"

        bob.say(channel, "!deploy end")
        assert await answer(bob, bot_nick, "admins") == (
            f"{bob_nick}: !deploy end is for admins only (admins are listed in the bot's config)"
        )
    finally:
        await asyncio.gather(alice.quit(), bob.quit(), return_exceptions=True)
        await app.stop()


async def test_deployday_run_serves_until_sigterm_and_keeps_its_state(
    miniircd: IrcServer, tmp_path: Path
) -> None:
    """The real process: `deployday run -c FILE`, a command, SIGTERM (exit 0), and a
    second run that still knows the incident."""
    channel, bot_nick, nick = unique("#ops"), unique("dd"), unique("carol")
    config = tmp_path / "config.yaml"
    config.write_text(
        "database: sqlite:///team.sqlite3\n"
        f"networks:\n  local:\n    kind: irc\n    host: {miniircd.host}\n"
        f"    port: {miniircd.port}\n    tls: false\n    nick: {bot_nick}\n"
        f"    channels: ['{channel}']\n"
    )
    user = await IrcUser.connect(miniircd.host, miniircd.port, nick, timeout=WAIT)
    await user.join(channel)

    async def run_bot() -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "-c",
            str(config),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        await user.wait_event(
            "join", lambda e: e.source.nick.lower() == bot_nick.lower(), timeout=WAIT * 2
        )
        return proc

    try:
        proc = await run_bot()
        user.say(channel, "!break koji builds fail")
        assert await answer(user, bot_nick, "opened") == (
            "#1 opened: [sev3] koji: builds fail — !take 1 to own it"
        )
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), WAIT)
        assert proc.returncode == 0, err.decode()
        await user.wait_event(
            "quit", lambda e: e.source.nick.lower() == bot_nick.lower(), timeout=WAIT
        )

        proc = await run_bot()
        user.say(channel, "!incidents")
        assert await answer(user, bot_nick, "incident") == "1 open incident"
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), WAIT)
        assert proc.returncode == 0
    finally:
        await user.quit()
        if proc.returncode is None:
            proc.kill()
    with sqlite3.connect(tmp_path / "team.sqlite3") as db:
        assert db.execute("select count(*) from incidents").fetchone() == (1,)
