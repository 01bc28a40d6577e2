"""What people on a real IRC server see: pages and reminders start with the nicks they
are for, so irssi and weechat highlight them on their default settings; a line the server
cut inside a character arrives as UTF-8 with one U+FFFD, not as Latin-1 mojibake."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser, Received
from bot.loading import build_config
from bot.text import clean
from bot.transports.irc import IrcTransport
from tests.highlight import highlighted
from tests.servers.ircd import IrcServer

pytestmark = pytest.mark.servers

WAIT = 10.0
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


@asynccontextmanager
async def bot_on(
    server: IrcServer, tmp_path: Path, clock: FakeClock, channel: str, **config: object
) -> AsyncIterator[tuple[App, IrcTransport, str]]:
    nick = unique("dd")
    cfg = build_config(
        {
            "database": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            "networks": {
                "net": {
                    "kind": "irc",
                    "host": server.host,
                    "port": server.port,
                    "tls": False,
                    "nick": nick,
                    "channels": [channel],
                    "identify_by": "nick",
                    "flood": {"burst": 50, "per_second": 50},
                }
            },
            **config,
        }
    )
    transport = IrcTransport("net", cfg.networks["net"], clock=clock, tz=cfg.tz)
    app = App(cfg, [transport], clock=clock)
    await app.start()
    try:
        async with asyncio.timeout(WAIT):
            await transport.wait_ready()
        yield app, transport, nick
    finally:
        await app.stop()


async def from_bot(user: IrcUser, bot: str, word: str) -> Received:
    return await user.next_message(
        lambda m: m.sender.lower() == bot.lower() and word in m.text, timeout=WAIT
    )


async def test_pages_and_reminders_start_with_the_nicks_they_are_for(
    ngircd: IrcServer, tmp_path: Path
) -> None:
    alice_nick, bob_nick, carol_nick = unique("alice"), unique("bob"), unique("carol")
    channel, clock = unique("#ops"), FakeClock(T0)
    reminders = {
        "enabled": True,
        "check_every": 1,
        "unowned_after": {"sev1": 5, "sev2": 10, "sev3": 20, "sev4": 60},
    }
    async with bot_on(
        ngircd, tmp_path, clock, channel, admins=[alice_nick], reminders=reminders
    ) as (app, _, bot):
        alice, bob, carol = await asyncio.gather(
            *(
                IrcUser.connect(ngircd.host, ngircd.port, n)
                for n in (alice_nick, bob_nick, carol_nick)
            )
        )
        try:
            for user in (alice, bob, carol):
                await user.join(channel)
            alice.say(channel, f"!roster add {bob_nick} infra")
            await from_bot(alice, bot, "roster")
            alice.say(channel, f"!roster add {carol_nick} infra")
            await from_bot(alice, bot, "roster")
            carol.say(channel, "!checkin")
            await from_bot(carol, bot, "on duty")

            alice.say(channel, "!page infra pkgdb is down")
            for user in (bob, carol):
                page = await from_bot(user, bot, "page for infra")
                assert page.text.startswith(f"{carol_nick},{bob_nick}: ")
                assert highlighted(page.text, user.nick)

            alice.say(channel, f"!page {bob_nick} can you look at koji?")
            page = await from_bot(bob, bot, "can you look")
            assert page.text.startswith(f"{bob_nick}: ")

            alice.say(channel, "!deploy start pkgdb2")
            await from_bot(carol, bot, "Deploy day")
            alice.say(channel, "!break pkgdb --sev 1 API down")
            await from_bot(carol, bot, "opened")
            clock.set(T0 + timedelta(minutes=6))
            await app.tracker.settle()
            reminder = await from_bot(carol, bot, "no owner")
            assert reminder.text.startswith(f"{carol_nick}: ")
            assert highlighted(reminder.text, carol.nick)
        finally:
            await asyncio.gather(*(u.quit() for u in (alice, bob, carol)), return_exceptions=True)


async def _say_raw(server: IrcServer, nick: str, target: str, payload: bytes) -> None:
    """A client that sends bytes as they are, like a server relaying a line it cut."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
        async with asyncio.timeout(WAIT):
            while b" 001 " not in (line := await reader.readline()):
                assert line, "closed before registration"
        line = b"JOIN " + target.encode() + b"\r\nPRIVMSG " + target.encode() + b" :" + payload
        writer.write(line + b"\r\nQUIT\r\n")
        await writer.drain()
    finally:
        writer.close()


async def test_a_line_cut_inside_a_character_keeps_its_text_and_its_length(
    miniircd: IrcServer, tmp_path: Path
) -> None:
    """240 characters typed (the last one cut by a server) fit a 300-character limit:
    read as Latin-1 they were 479 and the report was refused."""
    channel, watcher_nick = unique("#ops"), unique("eve")
    async with bot_on(miniircd, tmp_path, FakeClock(T0), channel) as (_, _, bot):
        watcher = await IrcUser.connect(miniircd.host, miniircd.port, watcher_nick)
        try:
            await watcher.join(channel)
            summary = "ü" * 240
            cut = f"!break pkgdb {summary}".encode()[:-1]
            await _say_raw(miniircd, unique("dave"), channel, cut)
            opened = await from_bot(watcher, bot, "opened")
            assert clean(opened.text).startswith("#1 opened: [sev3] pkgdb: üüü")
            stored = "ü" * 239 + "\ufffd"
        finally:
            await watcher.quit()
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        assert db.execute("select summary from incidents").fetchall() == [(stored,)]
