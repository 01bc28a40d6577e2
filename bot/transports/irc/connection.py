"""The `irc` library's asyncio connection, made safe to use from a running loop: a decoder
that replaces what is not UTF-8, per-line error isolation, events for "closed" and
"socket gone", a TLS connect factory that opens with `CAP LS 302`, raw line sending that
logs instead of raising, and the PING watchdog for half-dead sockets. Shared with
`bot.devtools.ircuser`."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import irc.client
import irc.connection
import irc.events
from irc.client_aio import AioConnection, AioReactor, IrcProtocol
from jaraco.stream.buffer import DecodingLineBuffer

from bot.transports.irc.text import LINE_LIMIT

log = logging.getLogger(__name__)


def event_types(*codes: str) -> frozenset[str]:
    """The event types the `irc` library gives these numerics (it names most of them)."""
    return frozenset(str(irc.events.numeric[c]) if c in irc.events.numeric else c for c in codes)


class _Protocol(IrcProtocol):
    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            self.connection.lost.set()


class ReplacingLineBuffer(DecodingLineBuffer):
    """UTF-8 lines with each undecodable byte replaced by U+FFFD. Never re-decoded as
    Latin-1: a server that cuts a long line inside a character would turn the whole line
    into mojibake ("xÃ¼Ã¼…", twice as many characters as were typed), and that is what
    would be stored and counted against length limits."""

    encoding = "utf-8"
    errors = "replace"


class IrcConnection(AioConnection):
    """The library's connection with a decoder that never raises (a client sending
    Latin-1 must not break the reader), per-line error isolation, a receive timestamp for
    the watchdog, and events for "closed by us or them" and "socket gone"."""

    buffer_class = ReplacingLineBuffer
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


def parse_server_time(value: str | None) -> datetime | None:
    """The IRCv3 `time` tag as an aware UTC datetime; None when absent or malformed."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


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


async def watchdog(conn: IrcConnection, ping_interval: float, ping_timeout: float) -> None:
    """PING after `ping_interval` of silence; no data within `ping_timeout` after that
    PING means a half-dead connection: drop it so the supervisor reconnects."""
    loop = asyncio.get_running_loop()
    while True:
        idle = loop.time() - conn.last_rx
        if idle < ping_interval:
            await asyncio.sleep(ping_interval - idle)
            continue
        sent = loop.time()
        send_line(conn, "PING :deployday")
        await asyncio.sleep(ping_timeout)
        if conn.last_rx < sent:
            log.warning("%s: no answer to PING for %gs; reconnecting", conn.label, ping_timeout)
            conn.drop("ping timeout")
            return
