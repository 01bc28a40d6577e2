"""What people on a real IRC server see: pages and reminders start with the nicks they
are for, so irssi and weechat highlight them on their default settings; a line the server
cut inside a character arrives as UTF-8 with one U+FFFD, not as Latin-1 mojibake."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser, Received
from bot.text import clean
from tests.highlight import highlighted
from tests.servers.irc_bot import irc_bot
from tests.servers.ircd import IrcServer, raw_privmsg

pytestmark = pytest.mark.servers

WAIT = 10.0
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


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
    bot = unique("dd")
    db = tmp_path / "bot.sqlite3"
    async with irc_bot(
        ngircd, db, bot, channel, clock=clock, admins=[alice_nick], reminders=reminders
    ) as (app, _):
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


async def test_a_line_cut_inside_a_character_keeps_its_text_and_its_length(
    miniircd: IrcServer, tmp_path: Path
) -> None:
    """240 characters typed (the last one cut by a server) fit a 300-character limit:
    read as Latin-1 they were 479 and the report was refused."""
    channel, watcher_nick = unique("#ops"), unique("eve")
    bot = unique("dd")
    async with irc_bot(miniircd, tmp_path / "bot.sqlite3", bot, channel):
        watcher = await IrcUser.connect(miniircd.host, miniircd.port, watcher_nick)
        try:
            await watcher.join(channel)
            summary = "ü" * 240
            cut = f"!break pkgdb {summary}".encode()[:-1]
            await raw_privmsg(miniircd, unique("dave"), channel, cut)
            opened = await from_bot(watcher, bot, "opened")
            assert clean(opened.text).startswith("#1 opened: [sev3] pkgdb: üüü")
            stored = "ü" * 239 + "\ufffd"
        finally:
            await watcher.quit()
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        assert db.execute("select summary from incidents").fetchall() == [(stored,)]
