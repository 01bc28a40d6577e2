"""A small async IRC *user* client: scripted people for `deployday demo`, the real-server
tests and the benchmarks. It waits on events with timeouts and never sleeps to let
something happen, so it is as fast as the server and still deterministic."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import irc.client

from bot.casemapping import fold
from bot.transports.irc.caps import CapNegotiator
from bot.transports.irc.connection import IrcConnection, IrcReactor, connect_factory, tags_of

USER_CAPS = ("account-tag", "server-time")
BUFFERED = 1000  # unread messages and events kept; older ones are forgotten


class IrcUserError(Exception):
    """The server refused what the user tried (nick taken, registration failed)."""


@dataclass(frozen=True, slots=True)
class Received:
    sender: str
    target: str
    text: str
    tags: dict[str, str | None] = field(default_factory=dict)
    notice: bool = False
    mask: str = ""  # nick!user@host as the server relayed it

    @property
    def account(self) -> str | None:
        return self.tags.get("account")


class IrcUser:
    """One connected person. Everything received is buffered; `next_message`, `expect` and
    `wait_event` take the first buffered item that matches, waiting for more if needed."""

    def __init__(self, conn: IrcConnection, caps: CapNegotiator) -> None:
        self._conn = conn
        self._caps = caps
        self._messages: deque[Received] = deque(maxlen=BUFFERED)
        self._events: deque[irc.client.Event] = deque(maxlen=BUFFERED)
        self._arrived = asyncio.Event()
        self._welcomed = asyncio.Event()
        self._refused: str | None = None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        nick: str,
        *,
        tls: bool = False,
        sasl: tuple[str, str] | None = None,
        password: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - a forgotten timeout must not hang a test
    ) -> IrcUser:
        """Connect and register; with `sasl=(account, password)` log in via SASL PLAIN;
        `password` is a server password (PASS)."""
        reactor = IrcReactor(loop=asyncio.get_running_loop())
        conn: IrcConnection = reactor.server()
        conn.label = nick
        user = cls(conn, CapNegotiator(conn, USER_CAPS, sasl=sasl))
        reactor.add_global_handler("all_events", user._on_event)
        waits = [
            asyncio.create_task(user._welcomed.wait()),
            asyncio.create_task(conn.closed.wait()),
        ]
        try:
            async with asyncio.timeout(timeout):
                await conn.connect(
                    host,
                    port,
                    nick,
                    password=password,
                    username=nick.lower()[:10],
                    ircname=nick,
                    connect_factory=connect_factory(tls=tls, tls_verify=False),
                )
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if not user._welcomed.is_set() or user._refused:
                raise IrcUserError(f"{nick} could not register: {user._refused or 'closed'}")
        except BaseException:
            conn.drop("registration failed")
            raise
        finally:
            for task in waits:
                task.cancel()
        return user

    @property
    def nick(self) -> str:
        return str(self._conn.get_nickname())

    @property
    def account(self) -> str | None:
        """The services account this user is logged in to (from 900/901)."""
        return self._caps.account

    @property
    def connected(self) -> bool:
        return not self._conn.closed.is_set()

    def fold(self, name: str) -> str:
        return fold(name, str(getattr(self._conn.features, "casemapping", "rfc1459")))

    def _on_event(self, conn: IrcConnection, event: irc.client.Event) -> None:
        self._caps.handle(event)
        kind = event.type
        if kind == "welcome":
            self._welcomed.set()
        elif not self._welcomed.is_set() and kind in ("nicknameinuse", "erroneusnickname"):
            self._refused = f"{kind} {event.arguments[0] if event.arguments else ''}"
            conn.disconnect("nick refused")
        if kind in ("pubmsg", "privmsg", "pubnotice", "privnotice") and event.arguments:
            source = event.source.nick if event.source else ""
            self._messages.append(
                Received(
                    source,
                    str(event.target),
                    str(event.arguments[0]),
                    tags_of(event),
                    notice=kind.endswith("notice"),
                    mask=str(event.source or ""),
                )
            )
        elif kind != "all_raw_messages":
            self._events.append(event)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    # --- doing things ---

    def raw(self, line: str) -> None:
        """Send one raw protocol line (NickServ commands, NICK changes, …). A line the
        library refuses (newline, over 512 bytes) raises: a script with it is wrong."""
        self._conn.send_raw(line)

    def say(self, target: str, text: str) -> None:
        self.raw(f"PRIVMSG {target} :{text}")

    async def join(self, channel: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Join and return once the server echoed the JOIN."""
        self.raw(f"JOIN {channel}")
        await self.wait_event(
            "join",
            lambda e: (
                self.fold(e.source.nick) == self.fold(self.nick)
                and self.fold(str(e.target)) == self.fold(channel)
            ),
            timeout=timeout,
        )

    async def quit(self, message: str = "bye") -> None:
        """Send QUIT and wait (briefly) for the server to close the connection."""
        if self._conn.lost.is_set():
            return
        self.raw(f"QUIT :{message}")
        try:
            await asyncio.wait_for(self._conn.lost.wait(), 5.0)
        except TimeoutError:
            self._conn.drop(message)
        self._conn.disconnect(message)

    # --- waiting for things ---

    async def _take(
        self, buffer: deque, predicate: Callable[[object], bool], seconds: float, what: str
    ) -> object:
        try:
            async with asyncio.timeout(seconds):
                while True:
                    arrived = self._arrived
                    for item in buffer:
                        if predicate(item):
                            buffer.remove(item)
                            return item
                    await arrived.wait()
        except TimeoutError:
            recent = [str(i) for i in list(buffer)[-5:]]
            raise TimeoutError(
                f"{self.nick}: no {what} within {seconds}s; latest unread: {recent}"
            ) from None

    async def next_message(
        self,
        predicate: Callable[[Received], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        notices: bool = False,
    ) -> Received:
        """The first unread PRIVMSG (and NOTICE if `notices`) matching `predicate`."""

        def match(m: object) -> bool:
            assert isinstance(m, Received)
            return (notices or not m.notice) and (predicate is None or predicate(m))

        found = await self._take(self._messages, match, timeout, "matching message")
        assert isinstance(found, Received)
        return found

    async def expect(
        self,
        pattern: str | re.Pattern[str],
        *,
        sender: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Received:
        """The first unread PRIVMSG whose text matches the regex `pattern` (searched), from
        `sender` if given."""
        regex = re.compile(pattern)
        return await self.next_message(
            lambda m: (
                bool(regex.search(m.text))
                and (sender is None or self.fold(m.sender) == self.fold(sender))
            ),
            timeout,
        )

    async def wait_event(
        self,
        kind: str,
        predicate: Callable[[irc.client.Event], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> irc.client.Event:
        """The first unread non-message event of type `kind` (an `irc` library event name
        such as "join", "quit", "loggedin") matching `predicate`."""

        def match(e: object) -> bool:
            assert isinstance(e, irc.client.Event)
            return e.type == kind and (predicate is None or predicate(e))

        found = await self._take(self._events, match, timeout, f"{kind} event")
        assert isinstance(found, irc.client.Event)
        return found
