"""On a network with services, rights follow the services account: someone who takes an
admin's nick without logging in is refused, cannot link or be linked; the admin, logged in
under any nick, is not. Admins are named per network and matched by the server's
casemapping. With `identify_by: nick` the impostor is trusted, which the log says at start;
`auto` on a server without accounts trusts no nick with admin rights.
Reproductions 2 and 5 of issue 11 on InspIRCd + Atheme (and miniircd, which has no
services)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser
from bot.loading import build_config
from bot.text import clean
from bot.transports.irc import IrcTransport
from tests.servers.ircd import IrcServer, irc_network

pytestmark = pytest.mark.servers

WAIT = 15.0
_ids = itertools.count(1)


@asynccontextmanager
async def bot_on(
    server: IrcServer, db: Path, admins: list[str], **networks: tuple[str, str]
) -> AsyncIterator[list[str]]:
    """The bot on `server` once per network (name -> (channel, identify_by)), sharing one
    database; yields the bot's nick on each."""
    nicks = [f"guard{next(_ids)}" for _ in networks]
    config = build_config(
        {
            "database": f"sqlite:///{db}",
            "admins": admins,
            "networks": {
                name: irc_network(server, nick, channel, identify_by)
                for nick, (name, (channel, identify_by)) in zip(
                    nicks, networks.items(), strict=True
                )
            },
        }
    )
    clock = FakeClock()
    transports = [
        IrcTransport(name, config.networks[name], clock=clock, tz=config.tz)  # type: ignore[arg-type]
        for name in networks
    ]
    app = App(config, transports, clock=clock)
    await app.start()
    try:
        async with asyncio.timeout(WAIT):
            for transport in transports:
                await transport.wait_ready()
        yield nicks
    finally:
        await app.stop()


async def answer(user: IrcUser, bot: str, pattern: str) -> str:
    regex = re.compile(pattern)
    found = await user.next_message(
        lambda m: m.sender == bot and bool(regex.search(clean(m.text))), timeout=WAIT
    )
    return clean(found.text)


async def logged_in(server: IrcServer, nick: str, account: str, *channels: str) -> IrcUser:
    user = await IrcUser.connect(server.host, server.port, nick, timeout=WAIT)
    user.say("NickServ", f"IDENTIFY {account} pw-{account}")
    await user.wait_event("loggedin", timeout=WAIT)
    for channel in channels:
        await user.join(channel)
    return user


async def test_rights_follow_the_account_not_the_nick(inspircd: IrcServer, tmp_path: Path) -> None:
    n = next(_ids)
    account, channel = f"boss{n}", f"#guarded{n}"
    owner = await inspircd.register_account(account, f"pw-{account}")
    await owner.quit()  # the nick is free again; the account stays
    admins = [f"{account}@net"]
    async with bot_on(inspircd, tmp_path / "a.sqlite3", admins, net=(channel, "auto")) as [bot]:
        impostor = await IrcUser.connect(inspircd.host, inspircd.port, account, timeout=WAIT)
        await impostor.join(channel)
        impostor.say(channel, "!deploy start takeover")
        assert await answer(impostor, bot, "admins") == (
            f"{account}: !deploy start is for admins only (admins are listed in the bot's config)"
        )
        impostor.say(channel, "!roster add friend infra")
        refused = await answer(impostor, bot, "admins")
        assert refused.startswith(f"{account}: !roster add is for")

        real = await logged_in(inspircd, f"elsewhere{n}", account, channel)
        real.say(channel, "!deploy start pkgdb2")
        assert await answer(real, bot, "Deploy day") == (
            f"Deploy day: deploy pkgdb2 started by elsewhere{n}"
        )
        await asyncio.gather(impostor.quit(), real.quit())


async def test_repro2_a_logged_out_nick_is_never_linked(
    inspircd: IrcServer, tmp_path: Path
) -> None:
    """Two networks on the same server (one bot connection each, one database), the admin's
    account on the first: the nick without the account can neither ask nor confirm."""
    n = next(_ids)
    account, here, there = f"chief{n}", f"#here{n}", f"#there{n}"
    owner = await inspircd.register_account(account, f"pw-{account}")
    await owner.quit()
    nets = {"net": (here, "auto"), "net2": (there, "auto")}
    admins = [f"{account}@net"]
    async with bot_on(inspircd, tmp_path / "l.sqlite3", admins, **nets) as [bot, bot2]:
        impostor = await IrcUser.connect(inspircd.host, inspircd.port, account, timeout=WAIT)
        await impostor.join(here)
        impostor.say(here, "!whoami")
        assert await answer(impostor, bot, "you are") == (
            f"you are {account}; identities: ~{account}@net"
        )
        impostor.say(here, "!link net2 elsewhere")
        assert await answer(impostor, bot, "logged in") == (
            f"{account}: you are not logged in to services on net, so you could be anyone "
            "using your nick; log in, then ask again"
        )
        real = await logged_in(inspircd, f"other{n}", account, here, there)
        real.say(there, f"!link net ~{account}")
        assert await answer(real, bot2, "logged in") == (
            f"other{n}: ~{account} is someone not logged in to services on net, whom anyone can "
            "be; name their services account instead"
        )
        real.say(there, f"!link net {account}")
        assert await answer(real, bot2, "privately") == (
            f"other{n}: I sent you the code to link {account}@net privately"
        )
        prompt = await real.next_message(
            lambda m: m.sender == bot2 and m.target == real.nick, timeout=WAIT
        )
        code = re.search(r"!link confirm ([A-Z2-9]{6})", clean(prompt.text))
        assert code is not None, prompt
        assert clean(prompt.text) == (
            f"{account}@net2 (no rights) will be linked with {account}@net (not seen yet); "
            f"confirm as {account}@net with !link confirm {code[1]} within 5 minutes"
        )
        impostor.say(here, f"!link confirm {code[1]} yes")
        assert await answer(impostor, bot, "confirmed by") == (
            f"{account}: code {code[1]} must be confirmed by {account}@net"
        )
        real.say(here, f"!link confirm {code[1]} yes")
        assert (await answer(real, bot, "^linked")).startswith(
            f"linked: you are other{n}, {account}@net, {account}@net2 (admin), asked by "
            f"{account}@net2"
        )
        impostor.say(here, "!deploy start takeover")
        assert (await answer(impostor, bot, "admins")).endswith(
            "is for admins only (admins are listed in the bot's config)"
        )
        real.say(there, "!deploy start pkgdb2")  # rights followed the link to net2
        assert await answer(real, bot2, "Deploy day") == (
            f"Deploy day: deploy pkgdb2 started by other{n}"
        )
        await asyncio.gather(impostor.quit(), real.quit())


async def test_repro5_admins_match_by_the_servers_casemapping(
    inspircd: IrcServer, tmp_path: Path
) -> None:
    n = next(_ids)
    account, channel = f"[ops{n}]", f"#case{n}"
    owner = await inspircd.register_account(account, f"pw-{account}")
    await owner.quit()
    admins = [f"{account}@net"]
    async with bot_on(inspircd, tmp_path / "c.sqlite3", admins, net=(channel, "auto")) as [bot]:
        real = await logged_in(inspircd, f"someone{n}", account, channel)
        real.say(channel, "!deploy start pkgdb2")
        assert await answer(real, bot, "Deploy day") == (
            f"Deploy day: deploy pkgdb2 started by someone{n}"
        )
        real.say(channel, "!whoami")
        assert await answer(real, bot, "you are") == (
            f"you are someone{n} (admin); identities: {{ops{n}}}@net (someone{n})"
        )
        await real.quit()


async def test_identify_by_nick_trusts_whoever_holds_the_nick_and_says_so(
    inspircd: IrcServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    n = next(_ids)
    admin, channel = f"chief{n}x", f"#open{n}"
    admins = [f"{admin}@net"]
    with caplog.at_level(logging.INFO):
        async with bot_on(inspircd, tmp_path / "n.sqlite3", admins, net=(channel, "nick")) as [bot]:
            anyone = await IrcUser.connect(inspircd.host, inspircd.port, admin, timeout=WAIT)
            await anyone.join(channel)
            anyone.say(channel, "!deploy start spoofed")
            assert await answer(anyone, bot, "Deploy day") == (
                f"Deploy day: deploy spoofed started by {admin}"
            )
            await anyone.quit()
    logged = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert (
        "WARNING",
        f"net: admin rights rest on nicks ({admin}@net): anyone who takes one of these nicks "
        "is an admin here",
    ) in logged
    assert ("INFO", "net: people are identified by nick (identify_by: nick)") in logged


async def test_auto_without_accounts_warns_and_trusts_no_nick_with_rights(
    miniircd: IrcServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    n = next(_ids)
    admin, channel = f"head{n}", f"#plain{n}"
    async with bot_on(
        miniircd, tmp_path / "m.sqlite3", [f"{admin}@net"], net=(channel, "auto")
    ) as [bot]:
        anyone = await IrcUser.connect(miniircd.host, miniircd.port, admin, timeout=WAIT)
        await anyone.join(channel)
        anyone.say(channel, "!deploy start spoofed")
        assert await answer(anyone, bot, "admins") == (
            f"{admin}: !deploy start is for admins only (admins are listed in the bot's config)"
        )
        await anyone.quit()
    assert (
        "WARNING",
        "net: the server tracks no services accounts, so identify_by: auto identifies people "
        "by nick, which anyone can take; admins named on net get no rights here (say "
        "identify_by: nick to trust nicks)",
    ) in [(r.levelname, r.getMessage()) for r in caplog.records]
