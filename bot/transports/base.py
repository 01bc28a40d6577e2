"""The one small interface every network kind implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.messages import IdentifiedBy, Message, Reply, Sender

Sink = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TransportStats:
    """A network's state in plain numbers, for health checks and metrics."""

    connected: bool  # connected and in every configured room: a reply would go out now
    reconnects: int  # connections made after the first
    queued: int  # outgoing lines or messages waiting in the outbox


class Transport(Protocol):
    name: str
    kind: str
    # Everyone who can type here owns the database anyway (a local terminal): trusted
    # transports are admins, unthrottled, and never yield to another instance's lease.
    trusted: bool

    @property
    def own_names(self) -> tuple[str, ...]:
        """Names people use to address the bot on this network (`nick: command`)."""

    @property
    def announce_rooms(self) -> tuple[str, ...]:
        """Rooms that receive announcements (deploy start/end, new incidents, fixes)."""

    async def start(self, sink: Sink) -> None:
        """Connect and begin delivering messages to `sink`; returns once started."""

    async def stop(self) -> None:
        """Disconnect cleanly; safe to call twice."""

    async def send(self, room_id: str, reply: Reply, *, announcement: bool = False) -> None:
        """Render and deliver `reply`; never raises for network trouble (queues or logs).
        An `announcement` is said unprompted; when too much waits, it goes last."""

    def fold(self, name: str) -> str:
        """Case-fold a nick, account or room id by the network's own rules."""

    def stats(self) -> TransportStats:
        """Its state now."""

    @property
    def identified_by(self) -> IdentifiedBy:
        """How this network identifies people now (which `Sender.id`s it produces)."""

    def private_room(self, sender: Sender) -> str | None:
        """Where to reach `sender` alone (an IRC nick, a Matrix direct chat), if anywhere."""

    def current_id(self, nick: str) -> str | None:
        """The stable id of whoever uses `nick` here now, when the network says so (an IRC
        services account, from the channels the bot is in); else None."""


@runtime_checkable
class Paging(Protocol):
    """A transport that sends long private answers a page at a time (IRC)."""

    async def more(self, room_id: str) -> bool:
        """Send the next page of the last long answer to `room_id`; False when none waits."""
