"""One IRC connection from TCP connect to close: what lives exactly as long as it (nick,
registration, the channel picture it has seen, its tasks and timers), the nicks to try
when the configured one is taken, and the deadlines that drop a connection which never
answers or never registers, so the supervisor can start over."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import irc.client

from bot.config.networks import IrcNetworkConfig
from bot.messages import Message, Room
from bot.redact import keep_secret
from bot.transports.irc.caps import WANTED_CAPS, CapNegotiator
from bot.transports.irc.connection import (
    IrcConnection,
    IrcReactor,
    connect_factory,
    parse_server_time,
    send_line,
    tags_of,
    watchdog,
)
from bot.transports.irc.members import Fold, Members

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0
REGISTRATION_TIMEOUT = 60.0
QUIT_MESSAGE = "deployday going away"
MAX_NICK = 30


def password(config: IrcNetworkConfig, label: str) -> str | None:
    """The server or SASL password from the environment, read anew for each connection."""
    env = config.password_env
    if not env:
        return None
    value = keep_secret(os.environ.get(env))
    if value is None:
        log.error(
            "%s: environment variable %s is not set; connecting without a password", label, env
        )
    return value


def nick_candidates(nick: str, alternatives: Iterable[str]) -> Iterator[str]:
    """What to try when the configured nick is taken: the alternatives, then `nick_`,
    `nick__`, … (all within 30 characters), then random suffixes."""
    yield from alternatives
    for n in range(1, 4):
        yield nick[: MAX_NICK - n] + "_" * n
    while True:
        yield f"{nick[: MAX_NICK - 5]}_{random.randrange(10_000):04d}"


@dataclass(eq=False)
class Session(Members):
    """State that lives exactly as long as one connection, the channel picture it has seen
    (`Members`) included."""

    conn: IrcConnection
    caps: CapNegotiator
    nick: str
    candidates: Iterator[str]
    registered: bool = False
    userhost: str | None = None
    whox: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    server_password: str | None = field(default=None, repr=False)

    @classmethod
    def open(cls, reactor: IrcReactor, label: str, config: IrcNetworkConfig) -> Session:
        """A new, not yet connected session: the password goes to SASL when an account is
        configured, else to the server (PASS)."""
        conn: IrcConnection = reactor.server()
        conn.label = label
        secret = password(config, label)
        sasl = (config.sasl_username, secret) if config.sasl_username and secret else None
        return cls(
            conn,
            CapNegotiator(conn, WANTED_CAPS, sasl=sasl),
            config.nick,
            nick_candidates(config.nick, config.alt_nicks),
            server_password=None if config.sasl_username else secret,
        )

    async def connect(self, config: IrcNetworkConfig) -> None:
        """Connect (TLS if configured) and start registering, within CONNECT_TIMEOUT; then
        watch for a half-dead socket and for registration taking too long."""
        conn = self.conn
        loop = asyncio.get_running_loop()
        conn.last_rx = loop.time()
        await asyncio.wait_for(
            conn.connect(
                config.host,
                config.port,
                config.nick,
                password=self.server_password,
                username=config.username or config.nick,
                ircname=config.realname,
                connect_factory=connect_factory(tls=config.tls, tls_verify=config.tls_verify),
            ),
            CONNECT_TIMEOUT,
        )
        conn.last_rx = loop.time()
        self.tasks.append(
            asyncio.create_task(watchdog(conn, config.ping_interval, config.ping_timeout))
        )
        self.timers.append(loop.call_later(REGISTRATION_TIMEOUT, self._registration_deadline))

    def is_me(self, nick: str, fold: Fold) -> bool:
        return fold(nick) == fold(self.nick)

    def message_of(
        self, event: irc.client.Event, network: str, room: Room, fold: Fold, *, by_account: bool
    ) -> Message | None:
        """A PRIVMSG as a Message, or None for an empty one or the bot's own."""
        nick = event.source.nick if event.source else ""
        if not nick or not event.arguments or self.is_me(nick, fold):
            return None
        tags = tags_of(event)
        sender = self.sender(
            nick,
            tags,
            fold,
            by_account=by_account,
            account_tag="account-tag" in self.caps.acked,
            origin=event.source.userhost,
        )
        return Message(
            network=network,
            room=room,
            sender=sender,
            text=str(event.arguments[0]),
            event_id=tags.get("msgid"),
            server_time=parse_server_time(tags.get("time")),
        )

    def nick_refused(self, event: irc.client.Event, wanted: str) -> None:
        """While registering, try the next candidate; once registered, keep the nick the
        bot has (`reclaim` asks for `wanted` again later)."""
        args = event.arguments
        if self.registered:
            log.info(
                "%s: cannot take nick %s yet: %s",
                self.conn.label,
                wanted,
                args[-1] if args else event.type,
            )
            return
        nick = next(self.candidates)
        log.warning(
            "%s: nick %s refused (%s); trying %s",
            self.conn.label,
            args[0] if args else "?",
            event.type,
            nick,
        )
        send_line(self.conn, f"NICK {nick}")

    def reclaim(self, wanted: str, fold: Fold) -> None:
        """Ask for the configured nick when the bot is registered under another."""
        if self.registered and not self.is_me(wanted, fold):
            send_line(self.conn, f"NICK {wanted}")

    def host_hidden(self, event: irc.client.Event) -> None:
        """396: the server now shows the bot under a cloak, which changes the budget of
        every line it relays."""
        if event.arguments:
            user = (self.userhost or "").partition("@")[0] or "x" * 10
            self.userhost = f"{user}@{event.arguments[0]}"

    def _registration_deadline(self) -> None:
        if not self.registered:
            log.warning(
                "%s: not registered after %.0fs; reconnecting",
                self.conn.label,
                REGISTRATION_TIMEOUT,
            )
            self.conn.drop("registration timeout")

    def end(self, reactor: IrcReactor) -> None:
        """Cancel what belongs to this connection and let go of the socket."""
        for timer in self.timers:
            timer.cancel()
        for task in self.tasks:
            task.cancel()
        if not self.conn.closed.is_set():
            self.conn.drop(QUIT_MESSAGE)
        with contextlib.suppress(ValueError):
            reactor.connections.remove(self.conn)

    async def ended(self) -> None:
        """Until the tasks cancelled by `end` have finished."""
        await asyncio.gather(*self.tasks, return_exceptions=True)
