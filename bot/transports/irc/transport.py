"""IRC transport on the `irc` library's asyncio client, which parses lines and calls
handlers synchronously. Beside it: the connection and PING watchdog (`connection`), IRCv3
and SASL (`caps`), who is who (`members`), pacing and paging (`sendqueue`), lines that fit
512 bytes (`text`); reconnecting and the outbox are `SupervisedTransport`'s. Wired together
here: a session per connection, nick reclaiming, channels (re)joined, PRIVMSGs as Messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import tzinfo
from functools import partial
from typing import Any, ClassVar

import irc.client

from bot.casemapping import fold
from bot.clock import Clock
from bot.config.networks import IrcNetworkConfig
from bot.errors import reason
from bot.messages import Message, Reply, Room
from bot.transports.irc.caps import ACCOUNT_CAPS
from bot.transports.irc.connection import (
    IrcConnection,
    IrcReactor,
    event_types,
    send_line,
)
from bot.transports.irc.identify import IdentifiesPeople, identified_by, identify_people
from bot.transports.irc.members import WHOX_TOKEN
from bot.transports.irc.sendqueue import QueuedLine, SendQueue
from bot.transports.irc.session import QUIT_MESSAGE, Session
from bot.transports.irc.text import privmsg_budget, valid_target, wire_lines
from bot.transports.pager import Pager
from bot.transports.supervisor import DRAIN_TIMEOUT, Backoff, SupervisedTransport

log = logging.getLogger(__name__)

INBOX_LIMIT = 1000  # messages received and not yet taken by the sink
NICK_REFUSED = event_types("432", "433", "436", "437")
JOIN_REFUSED = event_types("403", "405", "471", "473", "474", "475", "477")


class IrcTransport(SupervisedTransport[QueuedLine], IdentifiesPeople):
    """One IRC network: connects, keeps itself connected, turns PRIVMSGs into Messages and
    Replies into flood-controlled lines that fit the server's 512-byte limit."""

    kind = "irc"
    unit = "lines"

    def __init__(
        self,
        name: str,
        config: IrcNetworkConfig,
        *,
        clock: Clock,
        tz: tzinfo,
        prefix: str = "!",
        reclaim_interval: float = 30.0,
        rejoin_delay: float = 5.0,
    ) -> None:
        super().__init__(
            name, config.reconnect, clock=clock, tz=tz, outbox_limit=config.outbox_limit
        )
        self.config = config
        self._reclaim_interval = reclaim_interval
        self._rejoin_delay = rejoin_delay
        self._inbox: asyncio.Queue[Message] = asyncio.Queue(INBOX_LIMIT)
        self._queue = SendQueue(
            self._outbox,
            config.flood,
            Pager(clock, config.page_lines, prefix),
            clock=clock,
            enqueue=self._enqueue,
            note=self._late_note,
            sent=self._notify,
        )
        self._casemapping = "rfc1459"
        self._identified = identified_by(config.identify_by, ACCOUNT_CAPS)
        self._session: Session | None = None
        self._reactor: IrcReactor | None = None
        self.registrations = 0  # successful registrations so far (reconnects = this - 1)

    # --- the Transport protocol ---

    @property
    def own_names(self) -> tuple[str, ...]:
        return (self._session.nick if self._session else self.config.nick,)

    @property
    def announce_rooms(self) -> tuple[str, ...]:
        return self.config.channels if self.config.announce else ()

    def fold(self, name: str) -> str:
        return fold(name, self._casemapping)

    async def send(self, room_id: str, reply: Reply, *, announcement: bool = False) -> None:
        """Channels get `max_reply_lines` of a reply, a person `page_lines` at a time."""
        if not valid_target(room_id):
            log.error("%s: not a valid IRC target: %r", self.name, room_id)
            return
        session = self._session
        nick = session.nick if session else self.config.nick
        budget = privmsg_budget(nick, session.userhost if session else None, room_id)
        direct = not self._is_channel(room_id)
        cap = None if direct else self.config.max_reply_lines
        lines = wire_lines(reply, self.name, budget, cap)
        person = self.fold(room_id) if direct else None
        self._queue.say(room_id, lines, person=person, announce=announcement)

    async def more(self, room_id: str) -> bool:
        """Queue the next page of the last long answer to the person `room_id`."""
        return valid_target(room_id) and self._queue.more(room_id, self.fold(room_id))

    def _cut_note(self, target: str, dropped: int) -> QueuedLine:
        return self._queue.cut_note(target, dropped)

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
    def connections(self) -> int:
        return self.registrations

    @property
    def account(self) -> str | None:
        """The services account the bot is logged in to on this connection, if any."""
        return self._session.caps.account if self._session else None

    @property
    def lines_sent(self) -> int:
        """PRIVMSG lines written to the socket, for the demo and benchmarks."""
        return self._queue.lines_sent

    async def wait_disconnected(self) -> None:
        await self._until(lambda: not self.connected)

    async def wait_nick(self, nick: str) -> None:
        wanted = self.fold(nick)
        await self._until(lambda: self.connected and self.fold(self.own_names[0]) == wanted)

    # --- the life cycle (SupervisedTransport) ---

    def _begin(self) -> Mapping[str, Coroutine[Any, Any, None]]:
        self._reactor = IrcReactor(loop=asyncio.get_running_loop())
        self._reactor.add_global_handler("all_events", self._on_event)
        return {"pump": self._pump()}

    async def _hang_up(self) -> None:
        """QUIT once the lines that can go have gone (or DRAIN_TIMEOUT passed)."""
        session = self._session
        if session is None:
            return
        if not session.registered:
            session.conn.drop(QUIT_MESSAGE)
            return
        sendable = partial(self._sendable, session)
        await self._drain_briefly(
            lambda: not self._queue.ready(sendable) or session.conn.closed.is_set()
        )
        session.conn.disconnect(QUIT_MESSAGE)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.conn.lost.wait(), DRAIN_TIMEOUT)

    async def _attempt(self, backoff: Backoff) -> float:
        """One connection; the backoff starts over after one that got registered."""
        try:
            registered = await self._run_session()
        except (OSError, TimeoutError) as exc:  # includes TLS errors
            pause = backoff.next()
            cfg = self.config
            self.outage.failed(f"cannot connect to {cfg.host}:{cfg.port}: {reason(exc)}", pause)
            self._notify()
            return pause
        if registered:
            backoff.reset()
        return backoff.next(grow=not registered)

    async def _run_session(self) -> bool:
        """One connection from TCP connect to close; True if it got registered."""
        assert self._reactor is not None
        cfg = self.config
        session = Session.open(self._reactor, self.name, cfg)
        self._session = session
        try:
            log.info("%s: connecting to %s:%d", self.name, cfg.host, cfg.port)
            await session.connect(cfg)
            await session.conn.closed.wait()
            if not self._stopping.is_set():
                log.warning("%s: disconnected from %s:%d", self.name, cfg.host, cfg.port)
        finally:
            session.end(self._reactor)
            if self._session is session:
                self._session = None
            self._notify()
            await session.ended()
        return session.registered

    # --- incoming ---

    async def _pump(self) -> None:
        """Deliver messages to the sink one at a time, in arrival order."""
        while True:
            await self._hand_over(await self._inbox.get())

    def _on_event(self, conn: IrcConnection, event: irc.client.Event) -> None:
        """Every event of the current connection: capabilities, the channel picture, then
        the bot's own reaction. Called synchronously by the library, so nothing waits."""
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
            extended_join = "extended-join" in session.caps.acked
            session.track(event, self.fold, session.nick, extended_join=extended_join)
            if handler is not None:
                handler(self, session, event)
        except Exception:
            log.exception("%s: error handling %s", self.name, event.type)

    def _is_channel(self, target: str) -> bool:
        session = self._session
        chantypes = getattr(session.conn.features, "chantypes", None) if session else None
        return bool(target) and target[0] in (chantypes or "#&+!")

    def _on_welcome(self, session: Session, event: irc.client.Event) -> None:
        session.registered = True
        session.nick = session.conn.get_nickname()
        self.registrations += 1
        self.outage.ended()
        log.info("%s: registered as %s", self.name, session.nick)
        self._identified = identify_people(self.name, self.config.identify_by, session.caps.acked)
        for channel in self.config.channels:
            send_line(session.conn, f"JOIN {channel}")
        sendable = partial(self._sendable, session)
        session.tasks.append(asyncio.create_task(self._queue.run(session, sendable)))
        session.tasks.append(asyncio.create_task(self._maintain(session)))
        self._queue.wake.set()
        self._notify()

    def _on_featurelist(self, session: Session, event: irc.client.Event) -> None:
        mapping = getattr(session.conn.features, "casemapping", None)
        if mapping:  # kept across reconnects: ids folded before and after must agree
            self._casemapping = str(mapping)
        # The library drops value-less tokens such as WHOX, so look at the raw ones.
        if any(str(a).upper().partition("=")[0] == "WHOX" for a in event.arguments):
            session.whox = True

    def _on_nick_refused(self, session: Session, event: irc.client.Event) -> None:
        session.nick_refused(event, self.config.nick)

    def _on_join_refused(self, session: Session, event: irc.client.Event) -> None:
        log.error(
            "%s: cannot join %s: %s",
            self.name,
            event.arguments[0] if event.arguments else "?",
            event.arguments[-1] if event.arguments else event.type,
        )

    def _on_join(self, session: Session, event: irc.client.Event) -> None:
        if not session.is_me(event.source.nick, self.fold):
            return
        channel = str(event.target)
        session.userhost = event.source.userhost or session.userhost
        log.info("%s: joined %s", self.name, channel)
        if session.whox and self._by_account(session) and "account-tag" not in session.caps.acked:
            send_line(session.conn, f"WHO {channel} %tna,{WHOX_TOKEN}")
        self._queue.wake.set()
        self._notify()

    def _on_kick(self, session: Session, event: irc.client.Event) -> None:
        if event.arguments:
            reason = event.arguments[1] if len(event.arguments) > 1 else ""
            self._left(
                session,
                str(event.target),
                event.arguments[0],
                f"kicked by {event.source.nick}: {reason}",
            )

    def _on_part(self, session: Session, event: irc.client.Event) -> None:
        self._left(session, str(event.target), event.source.nick, "parted")

    def _left(self, session: Session, channel: str, nick: str, why: str) -> None:
        if not session.is_me(nick, self.fold):
            return
        log.warning(
            "%s: left %s (%s); rejoining in %.0fs", self.name, channel, why, self._rejoin_delay
        )
        loop = asyncio.get_running_loop()
        session.timers.append(loop.call_later(self._rejoin_delay, self._rejoin, session, channel))
        self._notify()

    def _rejoin(self, session: Session, channel: str) -> None:
        if self._session is session and session.registered:
            send_line(session.conn, f"JOIN {channel}")

    def _on_quit(self, session: Session, event: irc.client.Event) -> None:
        if self.fold(event.source.nick) == self.fold(self.config.nick):
            session.reclaim(self.config.nick, self.fold)

    def _on_nick(self, session: Session, event: irc.client.Event) -> None:
        old, new = event.source.nick, str(event.target)
        if session.is_me(old, self.fold):
            session.nick = new
            log.info("%s: now known as %s", self.name, new)
            self._notify()
        if self.fold(old) == self.fold(self.config.nick):
            session.reclaim(self.config.nick, self.fold)

    def _on_hosthidden(self, session: Session, event: irc.client.Event) -> None:
        session.host_hidden(event)

    def _on_error(self, session: Session, event: irc.client.Event) -> None:
        log.warning("%s: server error: %s", self.name, event.target)

    def _on_pubmsg(self, session: Session, event: irc.client.Event) -> None:
        channel = str(event.target)
        canonical = next(
            (c for c in self.config.channels if self.fold(c) == self.fold(channel)), channel
        )
        self._deliver(session, event, Room(canonical, is_direct=False))

    def _on_privmsg(self, session: Session, event: irc.client.Event) -> None:
        if session.is_me(str(event.target), self.fold):
            self._deliver(session, event, Room(event.source.nick, is_direct=True))

    def _deliver(self, session: Session, event: irc.client.Event, room: Room) -> None:
        by_account = self._by_account(session)
        message = session.message_of(event, self.name, room, self.fold, by_account=by_account)
        if message is None:
            return
        try:
            self._inbox.put_nowait(message)
        except asyncio.QueueFull:
            who = message.sender.nick
            log.warning("%s: too many unprocessed messages; dropped one from %s", self.name, who)

    _handlers: ClassVar[dict[str, Callable[[IrcTransport, Session, irc.client.Event], None]]] = {
        "welcome": _on_welcome,
        "featurelist": _on_featurelist,
        "join": _on_join,
        "kick": _on_kick,
        "part": _on_part,
        "quit": _on_quit,
        "nick": _on_nick,
        "396": _on_hosthidden,
        "error": _on_error,
        "pubmsg": _on_pubmsg,
        "privmsg": _on_privmsg,
    }

    # --- nick reclaiming, missing channels, what may be sent ---

    def _missing_channels(self, session: Session) -> list[str]:
        return [c for c in self.config.channels if self.fold(c) not in session.joined]

    async def _maintain(self, session: Session) -> None:
        """Periodically try to get the configured nick back and to join channels that a
        ban, key or invite-only mode kept the bot out of."""
        while True:
            await asyncio.sleep(self._reclaim_interval)
            session.reclaim(self.config.nick, self.fold)
            for channel in self._missing_channels(session):
                send_line(session.conn, f"JOIN {channel}")

    def _sendable(self, session: Session, target: str) -> bool:
        """Lines for a configured channel wait until the bot is in it; others go now."""
        if not self._is_channel(target):
            return True
        key = self.fold(target)
        return key in session.joined or all(self.fold(c) != key for c in self.config.channels)
