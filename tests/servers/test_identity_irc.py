"""On a network with services, rights follow the services account: someone who takes an
admin's nick without logging in is refused; the admin, logged in under any nick, is not.
With `identify_by: nick` the same impostor is trusted — which is why it is documented as
spoofable."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.devtools.ircuser import IrcUser
from bot.text import clean
from tests.servers.irc_bot import irc_bot
from tests.servers.ircd import IrcServer

pytestmark = pytest.mark.servers

WAIT = 15.0
_ids = itertools.count(1)


@asynccontextmanager
async def bot_on(
    server: IrcServer, db: Path, channel: str, admin: str, identify_by: str
) -> AsyncIterator[str]:
    nick = f"guard{next(_ids)}"
    async with irc_bot(server, db, nick, channel, identify_by=identify_by, admins=[admin]):
        yield nick


async def answer(user: IrcUser, bot: str, pattern: str) -> str:
    regex = re.compile(pattern)
    found = await user.next_message(
        lambda m: m.sender == bot and bool(regex.search(clean(m.text))), timeout=WAIT
    )
    return clean(found.text)


async def test_rights_follow_the_account_not_the_nick(inspircd: IrcServer, tmp_path: Path) -> None:
    n = next(_ids)
    account, channel = f"boss{n}", f"#guarded{n}"
    owner = await inspircd.register_account(account, f"pw-{account}")
    await owner.quit()  # the nick is free again; the account stays
    async with bot_on(inspircd, tmp_path / "a.sqlite3", channel, account, "auto") as bot:
        impostor = await IrcUser.connect(inspircd.host, inspircd.port, account, timeout=WAIT)
        await impostor.join(channel)
        impostor.say(channel, "!deploy start takeover")
        assert await answer(impostor, bot, "admins") == (
            f"{account}: !deploy start is for admins only (admins are listed in the bot's config)"
        )
        impostor.say(channel, "!roster add friend infra")
        refused = await answer(impostor, bot, "admins")
        assert refused.startswith(f"{account}: !roster add is for")

        real = await IrcUser.connect(inspircd.host, inspircd.port, f"elsewhere{n}", timeout=WAIT)
        real.say("NickServ", f"IDENTIFY {account} pw-{account}")
        await real.wait_event("loggedin", timeout=WAIT)
        await real.join(channel)
        real.say(channel, "!deploy start pkgdb2")
        assert await answer(real, bot, "Deploy day") == (
            f"Deploy day: deploy pkgdb2 started by elsewhere{n}"
        )
        await asyncio.gather(impostor.quit(), real.quit())


async def test_identify_by_nick_trusts_whoever_holds_the_nick(
    inspircd: IrcServer, tmp_path: Path
) -> None:
    n = next(_ids)
    admin, channel = f"chief{n}", f"#open{n}"
    async with bot_on(inspircd, tmp_path / "n.sqlite3", channel, admin, "nick") as bot:
        anyone = await IrcUser.connect(inspircd.host, inspircd.port, admin, timeout=WAIT)
        await anyone.join(channel)
        anyone.say(channel, "!deploy start spoofed")
        assert await answer(anyone, bot, "Deploy day") == (
            f"Deploy day: deploy spoofed started by {admin}"
        )
        await anyone.quit()
