"""What a plugin sees of the bot: the API it is built with and the context of a command.
Plugins never import a transport; they answer with `Reply`s and announce through the app."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel

from bot.clock import Clock
from bot.command_stats import CommandStats
from bot.commands import Command, Level, build_command
from bot.config import Config
from bot.messages import Message, Reply
from bot.people import People, PersonRef
from bot.scheduler import Scheduler
from bot.store import Store
from bot.web import Routes

if TYPE_CHECKING:
    from bot.commands import Registry

T = TypeVar("T")
# the oldest a message's own time is believed: Matrix catches up on at most this much
MAX_MESSAGE_AGE = timedelta(days=7)
Handler = Callable[[object], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NetworkStatus:
    """One configured network as this instance sees it now (health checks, metrics)."""

    name: str
    kind: str
    serving: bool  # this instance answers there (a standby replica does not)
    connected: bool  # connected and in every configured room
    reconnects: int  # connections made after the first
    queued: int  # outgoing lines or messages waiting


class PluginAPI(Protocol):
    config: Config
    clock: Clock
    store: Store
    people: People
    scheduler: Scheduler
    registry: Registry
    routes: Routes  # HTTP routes features offer; served when the intake is enabled
    command_stats: CommandStats  # what the dispatcher did with each command

    def networks(self) -> list[NetworkStatus]:
        """Every configured network's state now."""

    async def announce(
        self, reply: Reply, *, origin: Message | None = None, networks: set[str] | None = None
    ) -> set[str]:
        """Send to every announcement room (of `networks`, default all), except `origin`'s,
        here or through the process that serves the network (bot.relay); returns the
        networks it went to, empty when none is served now."""

    async def send(
        self, network: str, room_id: str, reply: Reply, *, announcement: bool = False
    ) -> None:
        """Send to one room; `announcement`: said unprompted (when too much waits to be
        sent there, replies to people give way first)."""

    async def more(self, network: str, room_id: str) -> bool:
        """Send the next page of the last long private answer to `room_id` (a person);
        False when none waits (or the network sends answers whole)."""

    async def send_privately(self, message: Message, reply: Reply) -> bool:
        """Send to the sender of `message` alone; False when their network offers no
        private way to reach them from where they are."""

    async def has_level(self, person_id: int, level: Level) -> bool:
        """Whether any identity of this person is among the admins (ADMIN), or a plugin
        that grants `level` grants it to them (Context.level says MEMBER only for
        commands that need it)."""

    def shared(self, factory: Callable[[PluginAPI], T]) -> T:
        """One instance of `factory`'s result per app, for services plugins share."""

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call `handler(payload)` whenever a plugin publishes `topic`."""

    async def publish(self, topic: str, payload: object) -> None:
        """Run every subscriber of `topic`, in subscription order; a failing subscriber
        is logged and does not stop the others or the publisher."""


class Plugin:
    name: ClassVar[str] = ""
    migrations: ClassVar[Path | None] = None  # an Alembic version directory, if any
    grants: ClassVar[tuple[Level, ...]] = ()  # levels `has_level` decides (roster: MEMBER)
    settings_key: ClassVar[str | None] = None  # top-level config key of its settings
    Settings: ClassVar[type[BaseModel] | None] = None  # their model (a StrictModel)

    def __init__(self, api: PluginAPI) -> None:
        self.api = api

    @property
    def settings(self) -> Any:
        """This plugin's config section: its `Settings`, with defaults where not set."""
        if self.settings_key is None or self.Settings is None:
            raise AttributeError(f"{type(self).__name__} has no settings")
        return self.api.config.section(self.settings_key, self.Settings)

    def commands(self) -> list[Command]:
        """The methods marked with @command, in the order the class defines them."""
        seen: dict[str, Command] = {}
        for cls in reversed(type(self).__mro__):
            for attr, fn in vars(cls).items():
                if callable(fn) and hasattr(fn, "__deployday_command__"):
                    seen[attr] = build_command(getattr(self, attr), self.name or cls.__name__)
        return list(seen.values())

    @classmethod
    def cli_commands(cls) -> list[CliCommand]:
        """`deployday <name>` subcommands the plugin adds, marked with @cli_command."""
        found: dict[str, CliCommand] = {}
        for klass in reversed(cls.__mro__):
            for attr, fn in vars(klass).items():
                meta = getattr(fn, "__deployday_cli__", None)
                if meta is not None:
                    found[attr] = CliCommand(meta[0], meta[1], meta[2], attr, cls)
        return list(found.values())

    async def has_level(self, person_id: int, level: Level) -> bool:
        """For each level in `grants`: whether this person holds it."""
        return False

    async def start(self) -> None:
        """Called once the store is ready; register scheduled jobs here."""

    async def stop(self) -> None:
        """Called on shutdown, after in-flight commands finished."""


Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True, slots=True)
class CliCommand:
    """A `deployday <name>` subcommand: `configure` adds its arguments; the plugin method
    `method` runs it (with the store ready, no network) and returns the exit status."""

    name: str
    help: str
    configure: Configure
    method: str
    plugin: type[Plugin]


def cli_command(
    name: str, *, help: str, configure: Configure
) -> Callable[[Callable[..., Awaitable[int]]], Callable[..., Awaitable[int]]]:
    """Mark `async def method(self, args: argparse.Namespace) -> int` as a subcommand."""

    def mark(fn: Callable[..., Awaitable[int]]) -> Callable[..., Awaitable[int]]:
        fn.__deployday_cli__ = (name, help, configure)  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a command handler needs about the message it is answering."""

    message: Message
    person: PersonRef
    level: Level  # ADMIN for admins; MEMBER only when the command needs members
    api: PluginAPI
    command: Command

    @property
    def now(self) -> datetime:
        return self.api.clock.now()

    @property
    def when(self) -> datetime:
        """When the message was said, as its network stamped it (IRCv3 server-time, Matrix
        origin_server_ts), so a command that waited while the bot was down is timed when
        it was said; the bot's own clock when the network gave no time, or one in the
        future or implausibly old (clocks are skewed, servers can be wrong)."""
        now = self.now
        sent = self.message.server_time
        if sent is None or sent > now or now - sent > MAX_MESSAGE_AGE:
            return now
        return sent

    @property
    def network(self) -> str:
        return self.message.network

    @property
    def prefix(self) -> str:
        return self.api.config.prefix

    async def respond(self, reply: Reply) -> None:
        """Answer now, before the handler returns (when later work should follow it)."""
        await self.api.send(self.message.network, self.message.room.id, reply)
