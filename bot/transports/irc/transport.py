"""IRC transport on the `irc` library's asyncio client.

The library parses lines and calls handlers synchronously; everything else is ours: IRCv3
capability negotiation and SASL, identity by services account, the reconnect supervisor
with its PING watchdog, nick reclaiming, a flood-safe send queue that survives
disconnects, and rendering replies into lines that fit 512 bytes when relayed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import random
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

import irc.client
import irc.connection
import irc.events
from irc.client_aio import AioConnection, AioReactor, IrcProtocol
from jaraco.stream.buffer import LenientDecodingLineBuffer

from bot.clock import Clock
from bot.config import IrcNetworkConfig
from bot.messages import Message, Reply, Room, Sender
from bot.ratelimit import TokenBucket
from bot.transports.base import Sink
from bot.transports.irc.text import (
    LINE_LIMIT,
    fold,
    privmsg_budget,
    split_line,
    wire_lines,
)

log = logging.getLogger(__name__)

ACCOUNT_CAPS = frozenset({"account-tag", "extended-join", "account-notify"})
WANTED_CAPS = ACCOUNT_CAPS | {"server-time"}
SASL_CHUNK = 400
CONNECT_TIMEOUT = 30.0
REGISTRATION_TIMEOUT = 60.0
QUIT_MESSAGE = "deployday going away"
DRAIN_TIMEOUT = 2.0
MAX_NICK = 30


def _named(*codes: str) -> frozenset[str]:
    """The event types the `irc` library gives these numerics (it names most of them)."""
    return frozenset(str(irc.events.numeric[c]) if c in irc.events.numeric else c for c in codes)


SASL_DONE = _named("903", "907")
SASL_FAILED = _named("902", "904", "905", "906")
SASL_MECHS = _named("908")
NICK_REFUSED = _named("432", "433", "436", "437")
JOIN_REFUSED = _named("403", "405", "471", "473", "474", "475", "477")
CAP_UNKNOWN = _named("421", "451")


# --- the connection pieces shared with bot.devtools.ircuser ---------------------------------


class _Protocol(IrcProtocol):
    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            self.connection.lost.set()


class IrcConnection(AioConnection):
    """The library's connection with a lenient decoder (Latin-1 clients must not break the
    reader), per-line error isolation, a receive timestamp for the watchdog, and events
    for "closed by us or them" and "socket gone"."""

    buffer_class = LenientDecodingLineBuffer
    protocol_class = _Protocol

    def __init__(self, reactor: AioReactor) -> None:
        super().__init__(reactor)
        self.label = "irc"
        self.closed = asyncio.Event()
        self.lost = asyncio.Event()
        self.last_rx = 0.0

    def process_data(self, new_data: bytes) -> None:
        self.last_rx = self.reactor.loop.time()
        self.buffer.feed(new_data)
        for line in self.buffer:
            if not line:
                continue
            try:
                self._process_line(line)
            except Exception:
                log.exception("%s: could not handle the line %r", self.label, line[:300])

    def disconnect(self, message: str = "") -> None:
        try:
            super().disconnect(message)
        except Exception:
            log.exception("%s: error while disconnecting", self.label)
        finally:
            self.closed.set()

    def drop(self, reason: str) -> None:
        """Disconnect without waiting for unsent data: the peer may be half-dead."""
        transport = getattr(self, "transport", None)
        self.disconnect(reason)
        if transport is not None:
            transport.abort()


class IrcReactor(AioReactor):
    connection_class = IrcConnection


def connect_factory(*, tls: bool, tls_verify: bool) -> Callable[..., Any]:
    """An AioFactory that writes `CAP LS 302` before the library sends NICK/USER, so a
    server that speaks IRCv3 holds registration until CAP END."""
    context: ssl.SSLContext | None = None
    if tls:
        context = ssl.create_default_context()
        if not tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    base = irc.connection.AioFactory(ssl=context) if context else irc.connection.AioFactory()

    async def factory(protocol: IrcProtocol, address: tuple[str, int]) -> tuple[Any, Any]:
        transport, proto = await base(protocol, address)
        transport.write(b"CAP LS 302\r\n")
        return transport, proto

    return factory


def tags_of(event: irc.client.Event) -> dict[str, str | None]:
    return {t["key"]: t["value"] for t in event.tags or ()}


def send_line(conn: IrcConnection, line: str) -> bool:
    """Send one raw line; the library's refusals (newline, over 512 bytes, not connected)
    are logged rather than raised, since nothing upstream could do better."""
    try:
        conn.send_raw(line)
    except (irc.client.InvalidCharacters, irc.client.MessageTooLong) as exc:
        log.error("%s: refused to send %r: %s", conn.label, line[:60], exc)
        return False
    except irc.client.ServerNotConnectedError:
        log.warning("%s: not connected, dropped %s", conn.label, line.split(" ", 1)[0])
        return False
    return True


def send_lines(conn: IrcConnection, lines: list[str]) -> int:
    """Several raw lines in one socket write, so a multi-line reply leaves in one packet:
    a server without TCP_NODELAY otherwise holds the second line back for a delayed ACK
    (~40 ms). The library's own checks apply: no line breaks, 512 bytes with CR LF."""
    chunks: list[bytes] = []
    for line in lines:
        data = line.encode("utf-8") + b"\r\n"
        if "\n" in line or "\r" in line or len(data) > LINE_LIMIT:
            log.error(
                "%s: refused to send %r: a line break or over 512 bytes", conn.label, line[:60]
            )
            continue
        chunks.append(data)
    transport = getattr(conn, "transport", None)
    if not chunks or transport is None or not conn.connected:
        if chunks:
            log.warning("%s: not connected, dropped %d lines", conn.label, len(chunks))
        return 0
    transport.write(b"".join(chunks))
    return len(chunks)


class CapNegotiator:
    """IRCv3 capability negotiation and SASL PLAIN for one connection, driven by its events.
    Every path ends in CAP END (or the server not knowing CAP), so registration never
    hangs on it; SASL failures are logged and registration continues without an account."""

    def __init__(
        self, conn: IrcConnection, wanted: Iterable[str], *, sasl: tuple[str, str] | None
    ) -> None:
        self.conn = conn
        self.sasl = sasl
        self.wanted = set(wanted) | ({"sasl"} if sasl else set())
        self.offered: dict[str, str] = {}
        self.acked: set[str] = set()
        self.account: str | None = None
        self.done = False
        self._pending: set[str] = set()
        self._sasl_started = False

    def handle(self, event: irc.client.Event) -> None:
        kind = event.type
        if kind == "cap":
            self._cap([str(a) for a in event.arguments])
        elif kind == "authenticate":
            self._authenticate(str(event.target))
        elif kind in SASL_DONE:
            self._end()
        elif kind in SASL_FAILED:
            text = event.arguments[-1] if event.arguments else kind
            log.error(
                "%s: SASL login as %s failed (%s); continuing without it",
                self.conn.label,
                self.sasl[0] if self.sasl else "?",
                text,
            )
            self._end()
        elif kind in SASL_MECHS:
            log.error(
                "%s: the server offers SASL mechanisms %s, not PLAIN",
                self.conn.label,
                event.arguments[0] if event.arguments else "?",
            )
        elif kind == "loggedin" and len(event.arguments) >= 2:
            self.account = event.arguments[1]
        elif kind == "loggedout":
            self.account = None
        elif kind in CAP_UNKNOWN and event.arguments and event.arguments[0].upper() == "CAP":
            self.done = True  # no IRCv3 here: plain registration goes on by itself
        elif kind == "welcome":
            self.done = True

    def _cap(self, args: list[str]) -> None:
        sub = args[0].upper() if args else ""
        if sub == "LS":
            more = len(args) >= 3 and args[1] == "*"
            for token in (args[-1] if len(args) >= 2 else "").split():
                name, _, value = token.partition("=")
                self.offered[name] = value
            if not more:
                self._request()
        elif sub in ("ACK", "NAK"):
            for token in (args[-1] if len(args) >= 2 else "").split():
                name = token.lstrip("-~=")
                self._pending.discard(name)
                if sub == "NAK":
                    log.info("%s: the server refused capability %s", self.conn.label, name)
                elif token.startswith("-"):
                    self.acked.discard(name)
                else:
                    self.acked.add(name)
            if not self._pending:
                self._after_requests()
        elif sub == "DEL":
            for name in (args[-1] if len(args) >= 2 else "").split():
                self.acked.discard(name)

    def _request(self) -> None:
        if self.done or self._pending:
            return
        want = sorted(c for c in self.wanted if c in self.offered)
        mechs = self.offered.get("sasl", "")
        if "sasl" in want and mechs and "PLAIN" not in mechs.upper().split(","):
            log.error(
                "%s: the server offers SASL %s but not PLAIN; continuing without it",
                self.conn.label,
                mechs,
            )
            want.remove("sasl")
        if self.sasl and "sasl" not in self.offered:
            log.error("%s: the server does not offer SASL; continuing without it", self.conn.label)
        if not want:
            self._end()
            return
        self._pending = set(want)
        for cap in want:  # one per REQ: a refusal then costs only that capability
            send_line(self.conn, f"CAP REQ :{cap}")

    def _after_requests(self) -> None:
        if self.sasl and "sasl" in self.acked and not self._sasl_started:
            self._sasl_started = True
            send_line(self.conn, "AUTHENTICATE PLAIN")
        elif not self._sasl_started:
            self._end()

    def _authenticate(self, argument: str) -> None:
        if argument != "+" or not self._sasl_started or self.sasl is None:
            return
        user, password = self.sasl
        payload = base64.b64encode(f"{user}\0{user}\0{password}".encode()).decode()
        for start in range(0, len(payload), SASL_CHUNK):
            send_line(self.conn, f"AUTHENTICATE {payload[start : start + SASL_CHUNK]}")
        if len(payload) % SASL_CHUNK == 0:
            send_line(self.conn, "AUTHENTICATE +")

    def _end(self) -> None:
        if not self.done:
            self.done = True
            send_line(self.conn, "CAP END")


def nick_candidates(nick: str, alternatives: Iterable[str]) -> Iterator[str]:
    """What to try when the configured nick is taken: the alternatives, then `nick_`,
    `nick__`, … (all within 30 characters), then random suffixes."""
    yield from alternatives
    for n in range(1, 4):
        yield nick[: MAX_NICK - n] + "_" * n
    while True:
        yield f"{nick[: MAX_NICK - 5]}_{random.randrange(10_000):04d}"


def parse_server_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --- the transport ---------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Out:
    target: str
    text: str
    queued_at: datetime


@dataclass(eq=False)
class _Session:
    """State that lives exactly as long as one connection."""

    conn: IrcConnection
    caps: CapNegotiator
    nick: str
    candidates: Iterator[str]
    registered: bool = False
    userhost: str | None = None
    whox: bool = False
    joined: set[str] = field(default_factory=set)
    members: dict[str, set[str]] = field(default_factory=dict)
    accounts: dict[str, str | None] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class IrcTransport:
    """One IRC network: connects, keeps itself connected, turns PRIVMSGs into Messages and
    Replies into flood-controlled lines that fit the server's 512-byte limit."""

    kind = "irc"
    trusted = False

    def __init__(
        self,
        name: str,
        config: IrcNetworkConfig,
        *,
        clock: Clock,
        tz: tzinfo,
        reclaim_interval: float = 30.0,
        rejoin_delay: float = 5.0,
        outbox_limit: int = 200,
        queued_after: timedelta = timedelta(seconds=60),
        inbox_limit: int = 1000,
    ) -> None:
        self.name = name
        self.config = config
        self._clock = clock
        self._tz = tz
        self._reclaim_interval = reclaim_interval
        self._rejoin_delay = rejoin_delay
        self._outbox: deque[_Out] = deque()
        self._outbox_limit = outbox_limit
        self._queued_after = queued_after
        self._inbox: asyncio.Queue[Message] = asyncio.Queue(inbox_limit)
        self._casemapping = "rfc1459"
        self._session: _Session | None = None
        self._sink: Sink | None = None
        self._reactor: IrcReactor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._stopped = False
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self.registrations = 0  # successful registrations so far (reconnects = this - 1)
        self.lines_sent = 0  # PRIVMSG lines written to the socket, for the demo and benchmarks

    # --- the Transport protocol ---

    @property
    def own_names(self) -> tuple[str, ...]:
        return (self._session.nick if self._session else self.config.nick,)

    @property
    def announce_rooms(self) -> tuple[str, ...]:
        return self.config.channels if self.config.announce else ()

    def fold(self, name: str) -> str:
        return fold(name, self._casemapping)

    async def start(self, sink: Sink) -> None:
        if self._tasks or self._stopped:
            return
        self._sink = sink
        self._reactor = IrcReactor(loop=asyncio.get_running_loop())
        self._reactor.add_global_handler("all_events", self._on_event)
        self._tasks = [
            asyncio.create_task(self._pump(), name=f"irc-pump:{self.name}"),
            asyncio.create_task(self._supervise(), name=f"irc-supervisor:{self.name}"),
        ]

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        session = self._session
        if session is not None and session.registered:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    while (
                        self._next_ready(session) is not None and not session.conn.closed.is_set()
                    ):
                        await self._next_change()
            session.conn.disconnect(QUIT_MESSAGE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.conn.lost.wait(), DRAIN_TIMEOUT)
        elif session is not None:
            session.conn.drop(QUIT_MESSAGE)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._outbox:
            log.warning("%s: stopped with %d unsent lines", self.name, len(self._outbox))

    async def send(self, room_id: str, reply: Reply) -> None:
        if not room_id or any(c in room_id for c in " ,\r\n\0") or room_id.startswith(":"):
            log.error("%s: not a valid IRC target: %r", self.name, room_id)
            return
        session = self._session
        nick = session.nick if session else self.config.nick
        userhost = session.userhost if session else None
        budget = privmsg_budget(nick, userhost, room_id)
        direct = not self._is_channel(room_id)
        lines = wire_lines(
            reply, self.name, budget, None if direct else self.config.max_reply_lines
        )
        now = self._clock.now()
        dropped = 0
        for line in lines:
            if len(self._outbox) >= self._outbox_limit:
                self._outbox.popleft()
                dropped += 1
            self._outbox.append(_Out(room_id, line, now))
        if dropped:
            log.warning(
                "%s: outbox full (%d lines); dropped the %d oldest",
                self.name,
                self._outbox_limit,
                dropped,
            )
        self._wake.set()

    # --- state for callers that need to wait (tests, the demo) ---

    @property
    def ready(self) -> bool:
        """Registered and in every configured channel."""
        s = self._session
        return bool(s and s.registered and self._missing_channels(s) == [])

    @property
    def connected(self) -> bool:
        return bool(self._session and self._session.registered)

    @property
    def account(self) -> str | None:
        """The services account the bot is logged in to on this connection, if any."""
        return self._session.caps.account if self._session else None

    async def wait_ready(self) -> None:
        """Until registered and in every configured channel (wrap in asyncio.timeout)."""
        while not self.ready:
            await self._next_change()

    async def flushed(self) -> None:
        """Until every line queued so far has been written (wrap in asyncio.timeout)."""
        while self._outbox:
            await self._next_change()

    async def wait_disconnected(self) -> None:
        while self.connected:
            await self._next_change()

    async def wait_nick(self, nick: str) -> None:
        while not (self.connected and self.fold(self.own_names[0]) == self.fold(nick)):
            await self._next_change()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _next_change(self) -> None:
        await self._changed.wait()

    # --- supervisor ---

    async def _supervise(self) -> None:
        delay = self.config.reconnect.min_delay
        while not self._stop.is_set():
            registered = False
            try:
                registered = await self._run_session()
            except (OSError, TimeoutError) as exc:  # includes TLS errors
                log.warning(
                    "%s: cannot connect to %s:%d: %s",
                    self.name,
                    self.config.host,
                    self.config.port,
                    exc or type(exc).__name__,
                )
            except Exception:
                log.exception("%s: connection failed", self.name)
            if self._stop.is_set():
                break
            if registered:
                delay = self.config.reconnect.min_delay
            pause = random.uniform(max(self.config.reconnect.min_delay, delay / 2), delay)
            log.info("%s: reconnecting in %.1fs", self.name, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
            if not registered:
                delay = min(delay * 2, self.config.reconnect.max_delay)

    def _password(self) -> str | None:
        env = self.config.password_env
        if not env:
            return None
        value = os.environ.get(env)
        if value is None:
            log.error(
                "%s: environment variable %s is not set; connecting without a password",
                self.name,
                env,
            )
        return value

    async def _run_session(self) -> bool:
        """One connection from TCP connect to close; True if it got registered."""
        assert self._reactor is not None
        cfg = self.config
        conn: IrcConnection = self._reactor.server()
        conn.label = self.name
        password = self._password()
        sasl = (cfg.sasl_username, password) if cfg.sasl_username and password else None
        session = _Session(
            conn,
            CapNegotiator(conn, WANTED_CAPS, sasl=sasl),
            cfg.nick,
            nick_candidates(cfg.nick, cfg.alt_nicks),
        )
        self._session = session
        loop = asyncio.get_running_loop()
        try:
            log.info("%s: connecting to %s:%d", self.name, cfg.host, cfg.port)
            conn.last_rx = loop.time()
            await asyncio.wait_for(
                conn.connect(
                    cfg.host,
                    cfg.port,
                    cfg.nick,
                    password=None if cfg.sasl_username else password,
                    username=cfg.username or cfg.nick,
                    ircname=cfg.realname,
                    connect_factory=connect_factory(tls=cfg.tls, tls_verify=cfg.tls_verify),
                ),
                CONNECT_TIMEOUT,
            )
            conn.last_rx = loop.time()
            session.tasks.append(asyncio.create_task(self._watchdog(session)))
            session.timers.append(
                loop.call_later(REGISTRATION_TIMEOUT, self._registration_deadline, session)
            )
            await conn.closed.wait()
            if not self._stop.is_set():
                log.warning("%s: disconnected from %s:%d", self.name, cfg.host, cfg.port)
        finally:
            await self._end_session(session)
        return session.registered

    async def _end_session(self, session: _Session) -> None:
        for timer in session.timers:
            timer.cancel()
        for task in session.tasks:
            task.cancel()
        if not session.conn.closed.is_set():
            session.conn.drop(QUIT_MESSAGE)
        if self._reactor is not None:
            with contextlib.suppress(ValueError):
                self._reactor.connections.remove(session.conn)
        if self._session is session:
            self._session = None
        self._notify()
        await asyncio.gather(*session.tasks, return_exceptions=True)

    def _registration_deadline(self, session: _Session) -> None:
        if not session.registered:
            log.warning(
                "%s: not registered after %.0fs; reconnecting", self.name, REGISTRATION_TIMEOUT
            )
            session.conn.drop("registration timeout")

    async def _watchdog(self, session: _Session) -> None:
        """PING after `ping_interval` of silence; no data within `ping_timeout` after that
        PING means a half-dead connection: drop it so the supervisor reconnects."""
        loop = asyncio.get_running_loop()
        conn = session.conn
        while True:
            idle = loop.time() - conn.last_rx
            if idle < self.config.ping_interval:
                await asyncio.sleep(self.config.ping_interval - idle)
                continue
            sent = loop.time()
            send_line(conn, "PING :deployday")
            await asyncio.sleep(self.config.ping_timeout)
            if conn.last_rx < sent:
                log.warning(
                    "%s: no answer to PING for %gs; reconnecting",
                    self.name,
                    self.config.ping_timeout,
                )
                conn.drop("ping timeout")
                return

    # --- incoming ---

    async def _pump(self) -> None:
        """Deliver messages to the sink one at a time, in arrival order."""
        while True:
            message = await self._inbox.get()
            if self._sink is None:
                continue
            try:
                await self._sink(message)
            except Exception:
                log.exception("%s: the message sink failed", self.name)

    def _on_event(self, conn: IrcConnection, event: irc.client.Event) -> None:
        session = self._session
        if session is None or session.conn is not conn:
            return
        handler = self._handlers.get(event.type)
        if handler is None:
            if event.type in NICK_REFUSED:
                handler = IrcTransport._on_nick_refused
            elif event.type in JOIN_REFUSED:
                handler = IrcTransport._on_join_refused
        try:
            session.caps.handle(event)
            if handler is not None:
                handler(self, session, event)
        except Exception:
            log.exception("%s: error handling %s", self.name, event.type)

    def _is_me(self, session: _Session, nick: str) -> bool:
        return self.fold(nick) == self.fold(session.nick)

    def _is_channel(self, target: str) -> bool:
        session = self._session
        chantypes = getattr(session.conn.features, "chantypes", None) if session else None
        return bool(target) and target[0] in (chantypes or "#&+!")

    def _on_welcome(self, session: _Session, event: irc.client.Event) -> None:
        session.registered = True
        session.nick = session.conn.get_nickname()
        self.registrations += 1
        log.info("%s: registered as %s", self.name, session.nick)
        if self.config.identify_by == "account" and not session.caps.acked & ACCOUNT_CAPS:
            log.warning(
                "%s: identify_by is account but the server offers no account "
                "information; nobody will count as logged in",
                self.name,
            )
        for channel in self.config.channels:
            send_line(session.conn, f"JOIN {channel}")
        session.tasks.append(asyncio.create_task(self._send_loop(session)))
        session.tasks.append(asyncio.create_task(self._maintain(session)))
        self._wake.set()
        self._notify()

    def _on_featurelist(self, session: _Session, event: irc.client.Event) -> None:
        mapping = getattr(session.conn.features, "casemapping", None)
        if mapping:  # kept across reconnects: ids folded before and after must agree
            self._casemapping = str(mapping)
        # The library drops value-less tokens such as WHOX, so look at the raw ones.
        if any(str(a).upper().partition("=")[0] == "WHOX" for a in event.arguments):
            session.whox = True

    def _on_nick_refused(self, session: _Session, event: irc.client.Event) -> None:
        if session.registered:
            log.info(
                "%s: cannot take nick %s yet: %s",
                self.name,
                self.config.nick,
                event.arguments[-1] if event.arguments else event.type,
            )
            return
        nick = next(session.candidates)
        log.warning(
            "%s: nick %s refused (%s); trying %s",
            self.name,
            event.arguments[0] if event.arguments else "?",
            event.type,
            nick,
        )
        send_line(session.conn, f"NICK {nick}")

    def _on_join_refused(self, session: _Session, event: irc.client.Event) -> None:
        log.error(
            "%s: cannot join %s: %s",
            self.name,
            event.arguments[0] if event.arguments else "?",
            event.arguments[-1] if event.arguments else event.type,
        )

    def _on_join(self, session: _Session, event: irc.client.Event) -> None:
        nick, channel = event.source.nick, str(event.target)
        key = self.fold(channel)
        if self._is_me(session, nick):
            session.joined.add(key)
            session.members[key] = set()
            session.userhost = event.source.userhost or session.userhost
            log.info("%s: joined %s", self.name, channel)
            if (
                session.whox
                and self._by_account(session)
                and "account-tag" not in session.caps.acked
            ):
                send_line(session.conn, f"WHO {channel} %tna,42")
            self._wake.set()
            self._notify()
            return
        session.members.setdefault(key, set()).add(self.fold(nick))
        if "extended-join" in session.caps.acked and event.arguments:
            account = event.arguments[0]
            session.accounts[self.fold(nick)] = None if account == "*" else account

    def _on_namreply(self, session: _Session, event: irc.client.Event) -> None:
        if len(event.arguments) < 3:
            return
        members = session.members.setdefault(self.fold(event.arguments[1]), set())
        for name in event.arguments[2].split():
            members.add(self.fold(name.lstrip("~&@%+!").split("!", 1)[0]))

    def _on_whospcrpl(self, session: _Session, event: irc.client.Event) -> None:
        if len(event.arguments) >= 3 and event.arguments[0] == "42":
            nick, account = event.arguments[1], event.arguments[2]
            session.accounts[self.fold(nick)] = None if account == "0" else account

    def _leave(self, session: _Session, channel: str, nick: str, why: str) -> None:
        key = self.fold(channel)
        if self._is_me(session, nick):
            session.joined.discard(key)
            session.members.pop(key, None)
            log.warning(
                "%s: left %s (%s); rejoining in %.0fs", self.name, channel, why, self._rejoin_delay
            )
            loop = asyncio.get_running_loop()
            session.timers.append(
                loop.call_later(self._rejoin_delay, self._rejoin, session, channel)
            )
            self._notify()
            return
        folded = self.fold(nick)
        session.members.get(key, set()).discard(folded)
        if not any(folded in m for m in session.members.values()):
            session.accounts.pop(folded, None)

    def _rejoin(self, session: _Session, channel: str) -> None:
        if self._session is session and session.registered:
            send_line(session.conn, f"JOIN {channel}")

    def _on_kick(self, session: _Session, event: irc.client.Event) -> None:
        if event.arguments:
            reason = event.arguments[1] if len(event.arguments) > 1 else ""
            self._leave(
                session,
                str(event.target),
                event.arguments[0],
                f"kicked by {event.source.nick}: {reason}",
            )

    def _on_part(self, session: _Session, event: irc.client.Event) -> None:
        self._leave(session, str(event.target), event.source.nick, "parted")

    def _on_quit(self, session: _Session, event: irc.client.Event) -> None:
        folded = self.fold(event.source.nick)
        for members in session.members.values():
            members.discard(folded)
        session.accounts.pop(folded, None)
        if folded == self.fold(self.config.nick):
            self._reclaim(session)

    def _on_nick(self, session: _Session, event: irc.client.Event) -> None:
        old, new = event.source.nick, str(event.target)
        if self._is_me(session, old):
            session.nick = new
            log.info("%s: now known as %s", self.name, new)
            self._notify()
        old_key, new_key = self.fold(old), self.fold(new)
        for members in session.members.values():
            if old_key in members:
                members.discard(old_key)
                members.add(new_key)
        if old_key in session.accounts:
            session.accounts[new_key] = session.accounts.pop(old_key)
        if old_key == self.fold(self.config.nick):
            self._reclaim(session)

    def _on_account(self, session: _Session, event: irc.client.Event) -> None:
        account = str(event.target)
        session.accounts[self.fold(event.source.nick)] = None if account == "*" else account

    def _on_hosthidden(self, session: _Session, event: irc.client.Event) -> None:
        if event.arguments:
            user = (session.userhost or "").partition("@")[0] or "x" * 10
            session.userhost = f"{user}@{event.arguments[0]}"

    def _on_error(self, session: _Session, event: irc.client.Event) -> None:
        log.warning("%s: server error: %s", self.name, event.target)

    def _on_pubmsg(self, session: _Session, event: irc.client.Event) -> None:
        channel = str(event.target)
        canonical = next(
            (c for c in self.config.channels if self.fold(c) == self.fold(channel)), channel
        )
        self._deliver(session, event, Room(canonical, is_direct=False))

    def _on_privmsg(self, session: _Session, event: irc.client.Event) -> None:
        if self._is_me(session, str(event.target)):
            self._deliver(session, event, Room(event.source.nick, is_direct=True))

    def _by_account(self, session: _Session) -> bool:
        mode = self.config.identify_by
        return bool(session.caps.acked & ACCOUNT_CAPS) if mode == "auto" else mode == "account"

    def _sender_of(self, session: _Session, nick: str, tags: dict[str, str | None]) -> Sender:
        if not self._by_account(session):
            return Sender(self.fold(nick), nick, authenticated=False)
        if "account-tag" in session.caps.acked:
            account = tags.get("account")
        else:
            account = session.accounts.get(self.fold(nick))
        if account:
            return Sender(self.fold(account), nick, authenticated=True)
        return Sender("~" + self.fold(nick), nick, authenticated=False)

    def _deliver(self, session: _Session, event: irc.client.Event, room: Room) -> None:
        nick = event.source.nick if event.source else ""
        if not nick or not event.arguments or self._is_me(session, nick):
            return
        tags = tags_of(event)
        message = Message(
            network=self.name,
            room=room,
            sender=self._sender_of(session, nick, tags),
            text=str(event.arguments[0]),
            event_id=tags.get("msgid"),
            server_time=parse_server_time(tags.get("time")),
        )
        try:
            self._inbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("%s: too many unprocessed messages; dropped one from %s", self.name, nick)

    _handlers: ClassVar[dict[str, Callable[[IrcTransport, _Session, irc.client.Event], None]]] = {
        "welcome": _on_welcome,
        "featurelist": _on_featurelist,
        "join": _on_join,
        "namreply": _on_namreply,
        "whospcrpl": _on_whospcrpl,
        "kick": _on_kick,
        "part": _on_part,
        "quit": _on_quit,
        "nick": _on_nick,
        "account": _on_account,
        "396": _on_hosthidden,
        "error": _on_error,
        "pubmsg": _on_pubmsg,
        "privmsg": _on_privmsg,
    }

    # --- nick reclaiming and missing channels ---

    def _reclaim(self, session: _Session) -> None:
        if session.registered and not self._is_me(session, self.config.nick):
            send_line(session.conn, f"NICK {self.config.nick}")

    def _missing_channels(self, session: _Session) -> list[str]:
        return [c for c in self.config.channels if self.fold(c) not in session.joined]

    async def _maintain(self, session: _Session) -> None:
        """Periodically try to get the configured nick back and to join channels that a
        ban, key or invite-only mode kept the bot out of."""
        while True:
            await asyncio.sleep(self._reclaim_interval)
            self._reclaim(session)
            for channel in self._missing_channels(session):
                send_line(session.conn, f"JOIN {channel}")

    # --- outgoing ---

    def _deliverable(self, session: _Session, item: _Out) -> bool:
        if not self._is_channel(item.target):
            return True
        key = self.fold(item.target)
        return key in session.joined or all(self.fold(c) != key for c in self.config.channels)

    def _next_ready(self, session: _Session) -> _Out | None:
        return next((o for o in self._outbox if self._deliverable(session, o)), None)

    async def _send_loop(self, session: _Session) -> None:
        """The one writer of PRIVMSGs for this connection: oldest deliverable line first,
        one token-bucket token per line, and every line the bucket allows at that moment
        in one write."""
        bucket = TokenBucket(
            self.config.flood.burst,
            self.config.flood.per_second,
            now=asyncio.get_running_loop().time,
        )
        while not session.conn.closed.is_set():
            if self._next_ready(session) is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            await bucket.take()
            batch: list[_Out] = []
            item = self._next_ready(session)
            while item is not None:
                self._outbox.remove(item)
                batch.append(item)
                item = self._next_ready(session)
                if item is not None and not bucket.try_take():
                    break
            if batch and not session.conn.closed.is_set():
                self._transmit(session, batch)
                self._notify()

    def _transmit(self, session: _Session, batch: list[_Out]) -> None:
        lines: list[str] = []
        for item in batch:
            text = item.text
            if self._clock.now() - item.queued_at > self._queued_after:
                text = f"[queued {item.queued_at.astimezone(self._tz):%H:%M}] {text}"
            budget = privmsg_budget(session.nick, session.userhost, item.target)
            lines += [f"PRIVMSG {item.target} :{piece}" for piece in split_line(text, budget)]
        self.lines_sent += send_lines(session.conn, lines)
