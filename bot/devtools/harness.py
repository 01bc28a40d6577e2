"""An in-process harness: the whole bot (real store, real commands) behind memory
transports. Tests say things as people and read what the bot answered; nothing sleeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.app import App
from bot.casemapping import fold
from bot.clock import FakeClock
from bot.loading import build_config
from bot.messages import IdentifiedBy, Message, Reply, Room, Sender
from bot.store import Store
from bot.transports.base import Sink, TransportStats


@dataclass(slots=True)
class Sent:
    network: str
    room: str
    reply: Reply

    @property
    def text(self) -> str:
        return self.reply.plain


@dataclass(frozen=True, slots=True)
class MemoryNetwork:
    """A memory network like a real one: IRC-like, identified by nick (as with
    `identify_by: nick`) or by services account, with a casemapping; Matrix-like,
    identified by user ID and compared exactly; or a console (OPERATOR)."""

    rooms: Sequence[str]
    identified_by: IdentifiedBy = IdentifiedBy.NICK
    casemapping: str = "rfc1459"


class MemoryTransport:
    """Records what the bot sends; `deliver` plays a message in as if from the network."""

    kind = "memory"

    def __init__(
        self, name: str, network: MemoryNetwork | Sequence[str], nick: str = "deployday"
    ) -> None:
        self.network = network if isinstance(network, MemoryNetwork) else MemoryNetwork(network)
        # an operator network is a console: whoever types there owns the database anyway
        self.trusted = self.network.identified_by is IdentifiedBy.OPERATOR
        self.name = name
        self.rooms = tuple(self.network.rooms)
        self.nick = nick
        self.sent: list[Sent] = []
        self.present: dict[str, str] = {}  # folded nick -> account, as IRC channels show
        self._sink: Sink | None = None
        self.connected = True  # what stats() reports; tests of health checks change them
        self.reconnects = 0

    @property
    def own_names(self) -> tuple[str, ...]:
        return (self.nick,)

    @property
    def announce_rooms(self) -> tuple[str, ...]:
        return self.rooms

    def fold(self, name: str) -> str:
        if self.network.identified_by is IdentifiedBy.USER_ID:
            return name
        return fold(name, self.network.casemapping)

    @property
    def identified_by(self) -> IdentifiedBy:
        return self.network.identified_by

    def private_room(self, sender: Sender) -> str | None:
        return sender.nick

    def current_id(self, nick: str) -> str | None:
        return self.present.get(self.fold(nick))

    def sender(self, nick: str, account: str | None, origin: str | None = None) -> Sender:
        """Who `nick` is here: their nick, their services account (or `~nick` when they
        are not logged in), or their Matrix user ID (`account`) with `nick` shown;
        `origin` is where they connect from."""
        by = self.network.identified_by
        if by is IdentifiedBy.USER_ID:
            assert account and account.startswith("@"), "Matrix-like networks need a user ID"
            return Sender(account, nick, authenticated=True, origin=origin)
        if by is IdentifiedBy.ACCOUNT:
            if account is None:
                return Sender("~" + self.fold(nick), nick, origin=origin)
            return Sender(self.fold(account), nick, authenticated=True, origin=origin)
        operator = by is IdentifiedBy.OPERATOR
        return Sender(self.fold(nick), nick, authenticated=operator, origin=origin)

    def stats(self) -> TransportStats:
        return TransportStats(self.connected, self.reconnects, queued=0)

    async def start(self, sink: Sink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    async def send(self, room_id: str, reply: Reply, *, announcement: bool = False) -> None:
        self.sent.append(Sent(self.name, room_id, reply))

    async def deliver(self, message: Message) -> None:
        assert self._sink is not None, "transport not started"
        await self._sink(message)


@dataclass(slots=True)
class Said:
    """What one message caused: replies in its room, and anything sent elsewhere."""

    here: list[Sent] = field(default_factory=list)
    elsewhere: list[Sent] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(s.text for s in self.here)


class Harness:
    def __init__(self, app: App, clock: FakeClock) -> None:
        self.app = app
        self.clock = clock

    @classmethod
    async def start(
        cls,
        db_path: Path,
        *,
        networks: dict[str, Sequence[str] | MemoryNetwork] | None = None,
        clock: FakeClock | None = None,
        database_url: str | None = None,
        **config: object,
    ) -> Harness:
        networks = networks or {"test": ("#ops",)}
        # scripted people type faster than the fake clock moves; tests of the limit set it
        config.setdefault("rate_limit", {"burst": 1000, "per_minute": 6000})
        # one instance needs no leases; they would lapse whenever a test jumps the clock
        # (tests of several instances turn them on and move time with advance())
        config.setdefault("coordination", {"lease": False})
        cfg = build_config({"database": database_url or f"sqlite:///{db_path}", **config})
        clock = clock or FakeClock()
        transports = [MemoryTransport(name, net) for name, net in networks.items()]
        app = App(cfg, transports, clock=clock, store=Store(cfg.database_url, modes=cfg.modes))
        await app.start()
        return cls(app, clock)

    def transport(self, network: str = "test") -> MemoryTransport:
        transport = self.app.transports[network]
        assert isinstance(transport, MemoryTransport)
        return transport

    async def say(
        self,
        nick: str,
        text: str,
        *,
        room: str = "#ops",
        network: str = "test",
        account: str | None = None,
        host: str | None = None,
        at: datetime | None = None,
        sent_at: datetime | None = None,
    ) -> Said:
        """`nick` says `text` in `room` (a nick as room means a private message); logged
        in to services as `account`, or with that Matrix user ID (see MemoryTransport);
        `host` is where they connect from (an IRC user@host, kept across nick changes).
        The network stamps it `sent_at` (default: now), as if it waited before arriving."""
        if at is not None:
            self.clock.set(at)  # a jump: jobs due on the way are skipped, as after a pause
        transport = self.transport(network)
        before = {name: len(t.sent) for name, t in self.app.transports.items()}  # type: ignore[attr-defined]
        sender = transport.sender(nick, account, host)
        direct = not room.startswith("#")
        await transport.deliver(
            Message(
                network,
                Room(room if not direct else nick, direct),
                sender,
                text,
                server_time=sent_at or self.clock.now(),
            )
        )
        await self.app.tracker.settle()
        said = Said()
        for name, t in self.app.transports.items():
            for sent in t.sent[before[name] :]:  # type: ignore[attr-defined]
                same = name == network and sent.room == (room if not direct else nick)
                (said.here if same else said.elsewhere).append(sent)
        return said

    async def advance(self, **delta: float) -> None:
        """Move the fake clock forward, running every job that falls due on the way."""
        await self.advance_to(self.clock.now() + timedelta(**delta))

    async def advance_to(self, target: datetime) -> None:
        """Move the fake clock to `target` through every wake-up on the way, so scheduled
        jobs run and leases are renewed as they would be in real time."""
        while (due := self.clock.next_wakeup) is not None and due <= target:
            self.clock.set(due)
            await self.app.tracker.settle()
        self.clock.set(target)
        await self.app.tracker.settle()

    async def close(self) -> None:
        await self.app.stop()
