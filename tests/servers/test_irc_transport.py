"""The IRC transport against real servers (miniircd, ngircd, InspIRCd with Atheme), driven
by real IRC users. Every wait ends on an event; the timeouts only bound a broken test."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.config.networks import IrcNetworkConfig
from bot.devtools.ircuser import IrcUser, Received
from bot.messages import Line, Message, Reply, Room, Sender, Span, bold
from bot.transports.base import TransportStats
from bot.transports.irc import IrcTransport
from bot.transports.irc.text import LINE_LIMIT, render_lines
from tests.servers.ircd import IrcServer, raw_privmsg

pytestmark = pytest.mark.servers

TZ = ZoneInfo("Europe/Prague")
WAIT = 10.0
NETWORK = "testnet"
_ids = itertools.count(1)


def unique(prefix: str) -> str:
    """Fresh nicks and channels per test: the servers live for the whole session."""
    return f"{prefix}{next(_ids)}"


class Inbox:
    """The sink: records the transport's Messages and lets a test wait for one."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def next(self, predicate: Callable[[Message], bool] = lambda m: True) -> Message:
        async with asyncio.timeout(WAIT):
            while True:
                arrived = self._arrived
                for message in self.messages:
                    if predicate(message):
                        self.messages.remove(message)
                        return message
                await arrived.wait()


@asynccontextmanager
async def running_bot(
    host: str,
    port: int,
    *,
    clock: FakeClock | None = None,
    reclaim_interval: float = 30.0,
    **config: object,
) -> AsyncIterator[tuple[IrcTransport, Inbox]]:
    settings: dict[str, object] = {
        "kind": "irc",
        "host": host,
        "port": port,
        "tls": False,
        "nick": unique("dbot"),
        "channels": [unique("#ops")],
        "flood": {"burst": 100, "per_second": 100},
        "reconnect": {"min_delay": 0.05, "max_delay": 0.5},
    }
    settings.update(config)
    transport = IrcTransport(
        NETWORK,
        IrcNetworkConfig.model_validate(settings),
        clock=clock or FakeClock(),
        tz=TZ,
        reclaim_interval=reclaim_interval,
        rejoin_delay=0.1,
    )
    inbox = Inbox()
    await transport.start(inbox)
    try:
        yield transport, inbox
    finally:
        await transport.stop()


async def ready(transport: IrcTransport) -> None:
    async with asyncio.timeout(WAIT):
        await transport.wait_ready()


async def connect(server: IrcServer, *nicks: str) -> list[IrcUser]:
    """Connect users concurrently (InspIRCd takes about a second per registration)."""
    return list(
        await asyncio.gather(
            *(IrcUser.connect(server.host, server.port, n, timeout=WAIT) for n in nicks)
        )
    )


def from_bot(transport: IrcTransport) -> Callable[[Received], bool]:
    return lambda m: transport.fold(m.sender) == transport.fold(transport.own_names[0])


def content(text: str) -> str:
    return re.sub(r"[\x02 ]", "", text)


# --- on every server ---------------------------------------------------------------------


async def test_channel_and_private_messages_become_messages(irc_server: IrcServer) -> None:
    channels = [unique("#ops"), unique("#noc")]
    async with running_bot(irc_server.host, irc_server.port, channels=channels) as (bot, inbox):
        nick = bot.own_names[0]
        [alice] = await connect(irc_server, unique("alice"))
        await ready(bot)
        await alice.join(channels[1])
        names = await alice.wait_event("namreply", timeout=WAIT)
        assert bot.fold(nick) in bot.fold(names.arguments[2]).replace("@", " ").split()

        alice.say(channels[1].upper(), "!deploy status")
        message = await inbox.next()
        alice_id = ("~" if irc_server.accounts else "") + alice.nick.lower()
        assert message.network == NETWORK
        assert message.room == Room(channels[1], is_direct=False)
        sender = message.sender
        assert (sender.id, sender.nick, sender.authenticated) == (alice_id, alice.nick, False)
        assert sender.origin is not None and "@" in sender.origin  # user@host: outlives /nick
        assert message.text == "!deploy status"
        if irc_server.kind == "inspircd":
            assert message.server_time is not None and message.server_time.tzinfo == UTC

        alice.say(nick.upper(), "hello in private")
        message = await inbox.next()
        assert message.room == Room(alice.nick, is_direct=True)
        assert (message.sender.nick, message.text) == (alice.nick, "hello in private")

        stranger = unique("latin")
        await raw_privmsg(irc_server, stranger, nick, b"caf\xe9 cr\xe8me")
        message = await inbox.next()
        # not UTF-8: each such byte is replaced, the line is never re-read as Latin-1
        assert (message.sender.nick, message.text) == (stranger, "caf\ufffd cr\ufffdme")
        await alice.quit()
        assert bot.connected
    await bot.stop()


async def test_long_multibyte_reply_arrives_whole_in_order_and_harmless(
    irc_server: IrcServer,
) -> None:
    # one page for the whole reply: this is about cutting lines, not paging them
    async with running_bot(irc_server.host, irc_server.port, page_lines=100) as (bot, inbox):
        [alice] = await connect(irc_server, unique("alice"))
        await ready(bot)
        long_lines = [
            f"{i:02d} " + "Žluťoučký kůň úpěl ďábelské ódy 😀👩‍💻 " * 25 for i in range(8)
        ]
        evil = Line(
            (
                Span("before\r\nQUIT :pwned\r\nPRIVMSG #x :"),
                bold("\x02b\x0304old"),
                Span("\x00after"),
            )
        )
        reply = Reply.of(*long_lines, evil)
        await bot.send(alice.nick, reply)

        expected = content("".join(render_lines(reply, NETWORK)))
        received: list[Received] = []
        while content("".join(r.text for r in received)) != expected:
            received.append(await alice.next_message(from_bot(bot), timeout=WAIT))
            assert expected.startswith(content("".join(r.text for r in received)))
        assert len(received) > len(long_lines) + 1  # the long lines really were split
        for r in received:
            relayed = f":{r.mask} PRIVMSG {alice.nick} :{r.text}\r\n".encode()
            assert len(relayed) <= LINE_LIMIT
            assert not re.search(r"[\r\n\0\x03]", r.text)
        assert received[-1].text == "before QUIT :pwned PRIVMSG #x :\x02bold\x02after"

        alice.say(bot.own_names[0], "still there?")
        assert (await inbox.next()).text == "still there?"
        assert bot.connected
        await alice.quit()


async def test_channel_replies_are_capped_private_ones_are_not(irc_server: IrcServer) -> None:
    channel = unique("#ops")
    async with running_bot(
        irc_server.host, irc_server.port, channels=[channel], max_reply_lines=4
    ) as (bot, _inbox):
        [alice] = await connect(irc_server, unique("alice"))
        await ready(bot)
        await alice.join(channel)
        reply = Reply.of(*(f"incident #{i}" for i in range(1, 11)))
        await bot.send(channel, reply)
        got = [(await alice.next_message(from_bot(bot), timeout=WAIT)).text for _ in range(4)]
        assert got == [
            "incident #1",
            "incident #2",
            "incident #3",
            "… 7 more lines; ask me in a private message for all of it",
        ]
        await bot.send(alice.nick, reply)
        got = [(await alice.next_message(from_bot(bot), timeout=WAIT)).text for _ in range(10)]
        assert got == [f"incident #{i}" for i in range(1, 11)]
        await alice.quit()


async def test_nick_collision_then_reclaim_when_the_holder_quits(irc_server: IrcServer) -> None:
    nick, channel = unique("dbot"), unique("#ops")
    holder, alt_holder = await connect(irc_server, nick, nick + "alt")
    await holder.join(channel)
    async with running_bot(
        irc_server.host,
        irc_server.port,
        nick=nick,
        alt_nicks=[nick + "alt"],
        channels=[channel],
        reclaim_interval=3600,
    ) as (bot, _inbox):
        await ready(bot)
        assert bot.own_names == (nick + "_",)
        await holder.quit()
        async with asyncio.timeout(WAIT):
            await bot.wait_nick(nick)
        assert bot.own_names == (nick,)
    await alt_holder.quit()


# --- one server is enough ----------------------------------------------------------------


async def test_nick_is_reclaimed_periodically(miniircd: IrcServer) -> None:
    nick = unique("dbot")
    [holder] = await connect(miniircd, nick)
    async with running_bot(miniircd.host, miniircd.port, nick=nick, reclaim_interval=0.05) as (
        bot,
        _inbox,
    ):
        await ready(bot)
        assert bot.own_names == (nick + "_",)
        await holder.quit()  # shares no channel with the bot: only the timer notices
        async with asyncio.timeout(WAIT):
            await bot.wait_nick(nick)


async def test_rejoins_after_a_kick(ngircd: IrcServer) -> None:
    channel = unique("#ops")
    [op] = await connect(ngircd, unique("op"))
    await op.join(channel)  # the first to join is the channel operator
    async with running_bot(ngircd.host, ngircd.port, channels=[channel]) as (bot, _inbox):
        await ready(bot)
        nick = bot.own_names[0]
        await op.wait_event("join", lambda e: e.source.nick == nick, timeout=WAIT)
        op.raw(f"KICK {channel} {nick} :out")
        await op.wait_event("kick", timeout=WAIT)
        await op.wait_event("join", lambda e: e.source.nick == nick, timeout=WAIT)
        await ready(bot)
        await op.quit()


async def test_stop_sends_what_is_queued_then_quits(miniircd: IrcServer) -> None:
    channel = unique("#ops")
    [alice] = await connect(miniircd, unique("alice"))
    await alice.join(channel)
    async with running_bot(
        miniircd.host, miniircd.port, channels=[channel], flood={"burst": 1, "per_second": 200}
    ) as (bot, _inbox):
        await ready(bot)
        nick = bot.own_names[0]
        await bot.send(alice.nick, Reply.of(*(f"line {i}" for i in range(20))))
    got = [(await alice.next_message(timeout=WAIT)).text for _ in range(20)]
    assert got == [f"line {i}" for i in range(20)]
    quit_event = await alice.wait_event("quit", lambda e: e.source.nick == nick, timeout=WAIT)
    assert "deployday" in quit_event.arguments[0]
    await alice.quit()


class Gate:
    """A TCP relay in front of a server that the test can shut: while shut, connections are
    accepted and closed at once, so the bot comes back exactly when the test says so."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.is_open = True
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Gate:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.mark.parametrize("kind", ["miniircd", "ngircd"])
async def test_reconnect_rejoins_and_delivers_what_was_queued(
    private_ircd: Callable[[str], IrcServer], kind: str
) -> None:
    server = private_ircd(kind)
    gate = await Gate(server.port).start()
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # 09:00 in Prague
    channel = unique("#ops")
    try:
        async with running_bot(server.host, gate.port, clock=clock, channels=[channel]) as (
            bot,
            _inbox,
        ):
            await ready(bot)
            registrations = bot.registrations
            gate.is_open = False
            server.stop()
            async with asyncio.timeout(WAIT):
                await bot.wait_disconnected()

            await bot.send(channel, Reply.of("queued long ago"))
            clock.advance(minutes=2)
            await bot.send(channel, Reply.of("queued just now"))
            alice_nick = unique("alice")
            await bot.send(alice_nick, Reply.of("private, queued just now"))
            assert bot.stats() == TransportStats(connected=False, reconnects=0, queued=3)

            server.start()
            [alice] = await connect(server, alice_nick)
            await alice.join(channel)
            gate.is_open = True
            await ready(bot)
            assert bot.registrations == registrations + 1

            in_channel = [
                (await alice.next_message(lambda m: m.target == channel, timeout=WAIT)).text
                for _ in range(2)
            ]
            assert in_channel == ["[queued 09:00 CET] queued long ago", "queued just now"]
            assert (await alice.expect("^private", timeout=WAIT)).text == "private, queued just now"
            assert bot.stats() == TransportStats(connected=True, reconnects=1, queued=0)
            await alice.quit()
    finally:
        gate.close()


@pytest.mark.parametrize("kind", ["miniircd", "ngircd"])
async def test_watchdog_reconnects_when_the_server_stops_answering(
    private_ircd: Callable[[str], IrcServer], kind: str
) -> None:
    server = private_ircd(kind)
    async with running_bot(server.host, server.port, ping_interval=0.2, ping_timeout=0.3) as (
        bot,
        inbox,
    ):
        await ready(bot)
        registrations = bot.registrations
        server.pause()
        try:
            async with asyncio.timeout(WAIT):
                await bot.wait_disconnected()
        finally:
            server.resume()
        await ready(bot)
        assert bot.registrations > registrations
        [alice] = await connect(server, unique("alice"))
        alice.say(bot.own_names[0], "back?")
        assert (await inbox.next()).text == "back?"
        await alice.quit()


# --- accounts (InspIRCd + Atheme) --------------------------------------------------------


async def test_sasl_login_and_identity_by_account(
    inspircd: IrcServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "correct-horse-battery"
    bot_account, admin_account = unique("botacct"), unique("admin")
    registered = await asyncio.gather(
        inspircd.register_account(bot_account, password),
        inspircd.register_account(admin_account, password),
    )
    await asyncio.gather(*(u.quit() for u in registered))
    monkeypatch.setenv("DEPLOYDAY_TEST_IRC_PASSWORD", password)
    channel = unique("#ops")
    async with running_bot(
        inspircd.host,
        inspircd.port,
        channels=[channel],
        sasl_username=bot_account,
        password_env="DEPLOYDAY_TEST_IRC_PASSWORD",
    ) as (bot, inbox):
        admin, impostor = await asyncio.gather(
            IrcUser.connect(
                inspircd.host,
                inspircd.port,
                unique("opsalice"),
                sasl=(admin_account, password),
                timeout=WAIT,
            ),
            IrcUser.connect(inspircd.host, inspircd.port, admin_account, timeout=WAIT),
        )
        await ready(bot)
        assert bot.account == bot_account
        assert admin.account == admin_account and impostor.account is None
        await asyncio.gather(admin.join(channel), impostor.join(channel))

        admin.say(channel, "!deploy start pkgdb2")
        message = await inbox.next(lambda m: m.sender.nick == admin.nick)
        assert message.sender == replace(
            Sender(admin_account, admin.nick, authenticated=True), origin=message.sender.origin
        )

        impostor.say(channel, "!deploy end")
        impostor.say(bot.own_names[0], "!roster add me infra")
        for room in (Room(channel), Room(impostor.nick, is_direct=True)):
            message = await inbox.next(lambda m, room=room: m.room == room)
            impostor_is = Sender("~" + admin_account, admin_account, authenticated=False)
            assert message.sender == replace(impostor_is, origin=message.sender.origin)
        await asyncio.gather(admin.quit(), impostor.quit())


async def test_sasl_failure_is_logged_and_the_bot_still_connects(
    inspircd: IrcServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DEPLOYDAY_TEST_IRC_PASSWORD", "wrong password")
    with caplog.at_level(logging.ERROR, logger="bot.transports.irc"):
        async with running_bot(
            inspircd.host,
            inspircd.port,
            sasl_username=unique("nobody"),
            password_env="DEPLOYDAY_TEST_IRC_PASSWORD",
        ) as (bot, _inbox):
            await ready(bot)
            assert bot.account is None
    assert f"{NETWORK}: SASL login as" in caplog.text


# --- connection options --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["miniircd", "ngircd"])
async def test_server_password(
    private_ircd: Callable[..., IrcServer], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = private_ircd(kind, password="letmein")
    monkeypatch.setenv("DEPLOYDAY_TEST_IRC_PASSWORD", "letmein")
    async with running_bot(
        server.host, server.port, password_env="DEPLOYDAY_TEST_IRC_PASSWORD"
    ) as (bot, inbox):
        alice = await IrcUser.connect(
            server.host, server.port, unique("alice"), password="letmein", timeout=WAIT
        )
        await ready(bot)
        alice.say(bot.own_names[0], "behind a password")
        assert (await inbox.next()).text == "behind a password"
        await alice.quit()


async def test_tls(private_ircd: Callable[..., IrcServer]) -> None:
    server = private_ircd("miniircd", tls=True)
    async with running_bot(server.host, server.port, tls=True, tls_verify=False) as (bot, inbox):
        alice = await IrcUser.connect(
            server.host, server.port, unique("alice"), tls=True, timeout=WAIT
        )
        await ready(bot)
        alice.say(bot.own_names[0], "over TLS")
        assert (await inbox.next()).text == "over TLS"
        await bot.send(alice.nick, Reply.of("and back"))
        assert (await alice.expect("and back", timeout=WAIT)).sender == bot.own_names[0]
        await alice.quit()
