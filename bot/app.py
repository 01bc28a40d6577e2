"""The application: builds store, people, commands, scheduler and transports from config,
starts them in order and stops them cleanly (in-flight commands finish first)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bot import redact
from bot.clock import Clock, SystemClock
from bot.commands import Level, Registry
from bot.config import Config
from bot.coordination import Coordination
from bot.dispatcher import Dispatcher
from bot.errors import StartupError
from bot.loading import load_plugin_classes
from bot.messages import Message, Reply, Sender
from bot.people import People
from bot.plugin import Handler, NetworkStatus, Plugin, PluginAPI
from bot.scheduler import Scheduler
from bot.store import Store
from bot.tasks import TaskTracker
from bot.transports.base import Paging, Transport
from bot.web import Routes

log = logging.getLogger(__name__)
T = TypeVar("T")


class App(PluginAPI):
    def __init__(
        self,
        config: Config,
        transports: Sequence[Transport],
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        plugin_classes: Sequence[type[Plugin]] | None = None,
    ) -> None:
        redact.install()  # before anything reads a secret
        self.config = config
        self.clock = clock or SystemClock()
        self.store = store or Store(config.database_url, modes=config.modes)
        self.transports = {t.name: t for t in transports}
        self.tracker = TaskTracker()
        networks = [name for name, t in self.transports.items() if not t.trusted]
        self.coordination = Coordination(config, self.store, self.clock, networks)
        self.scheduler = Scheduler(self.clock, self.tracker, self.coordination.jobs)
        self.people = People(self.store, self.clock, self.fold)
        self.registry = Registry()
        self.routes = Routes()
        self.dispatcher = Dispatcher(self, self.tracker)
        self.command_stats = self.dispatcher.stats
        self._shared: dict[Callable[..., Any], Any] = {}
        self._subscribers: dict[str, list[Handler]] = {}
        self._admins = {a.casefold() for a in config.admins}
        classes = (
            plugin_classes if plugin_classes is not None else load_plugin_classes(config.plugins)
        )
        self.plugins = [cls(self) for cls in classes]
        for plugin in self.plugins:
            for cmd in plugin.commands():
                self.registry.add(cmd)
        self._stopping = asyncio.Event()

    def serves(self, network: str) -> bool:
        """Whether this instance answers on `network`: always, unless another instance
        sharing the database holds that network's lease (a replica on standby)."""
        return self.is_trusted(network) or self.coordination.serves(network)

    # --- PluginAPI ------------------------------------------------------------------------

    def shared(self, factory: Callable[[PluginAPI], T]) -> T:
        if factory not in self._shared:
            self._shared[factory] = factory(self)
        return self._shared[factory]

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._subscribers.setdefault(topic, []).append(handler)

    async def publish(self, topic: str, payload: object) -> None:
        for handler in self._subscribers.get(topic, []):
            try:
                await handler(payload)
            except Exception:
                log.exception("subscriber %r of %s failed", handler, topic)

    async def has_level(self, person_id: int, level: Level) -> bool:
        """Whether a plugin that grants `level` (roster membership) grants it to them."""
        for plugin in self.plugins:
            if level in plugin.grants and await plugin.has_level(person_id, level):
                return True
        return False

    async def send(
        self, network: str, room_id: str, reply: Reply, *, announcement: bool = False
    ) -> None:
        transport = self.transports.get(network)
        if transport is None:
            log.error("reply for unknown network %s dropped", network)
            return
        if not self.serves(network):
            log.debug("not sending to %s/%s: another instance serves %s", network, room_id, network)
            return
        try:
            await transport.send(room_id, reply, announcement=announcement)
        except Exception:
            log.exception("sending to %s/%s failed", network, room_id)

    async def more(self, network: str, room_id: str) -> bool:
        transport = self.transports.get(network)
        return isinstance(transport, Paging) and await transport.more(room_id)

    async def announce(
        self, reply: Reply, *, origin: Message | None = None, networks: set[str] | None = None
    ) -> set[str]:
        served = self._served()
        here = served if networks is None else served & networks
        for name in here:
            await self._announce_on(
                name, reply, origin.network if origin else None, origin.room.id if origin else None
            )
        relayed: set[str] = set()
        relay = self.coordination.relay
        if relay is not None:
            try:
                relayed = await relay.post(reply, origin, networks, served)
            except Exception:
                log.exception("could not relay an announcement to the other instances")
        return here | relayed

    async def _announce_on(
        self, network: str, reply: Reply, origin_network: str | None, origin_room: str | None
    ) -> None:
        transport = self.transports[network]
        for room in transport.announce_rooms:
            if (
                origin_network == network
                and origin_room is not None
                and transport.fold(room) == transport.fold(origin_room)
            ):
                continue
            await self.send(network, room, reply, announcement=True)

    def networks(self) -> list[NetworkStatus]:
        found = []
        for name, transport in self.transports.items():
            stats = transport.stats()
            found.append(
                NetworkStatus(
                    name,
                    transport.kind,
                    self.serves(name),
                    stats.connected,
                    stats.reconnects,
                    stats.queued,
                )
            )
        return found

    def _served(self) -> set[str]:
        return {name for name in self.transports if self.serves(name)}

    # --- helpers for the dispatcher ---------------------------------------------------------

    def fold(self, network: str, name: str) -> str:
        transport = self.transports.get(network)
        return transport.fold(name) if transport else name.casefold()

    def own_names(self, network: str) -> tuple[str, ...]:
        transport = self.transports.get(network)
        return transport.own_names if transport else ()

    def is_trusted(self, network: str) -> bool:
        transport = self.transports.get(network)
        return transport is not None and transport.trusted

    async def is_admin(self, network: str, sender: Sender, person_id: int | None = None) -> bool:
        """The console, a listed id, or a person any of whose linked identities is listed."""
        if self.is_trusted(network) or sender.room_admin or sender.id.casefold() in self._admins:
            return True
        return person_id is not None and await self.people.has_identity_in(
            person_id, frozenset(self._admins)
        )

    # --- life cycle -----------------------------------------------------------------------

    @property
    def migration_dirs(self) -> list[Path]:
        return list(dict.fromkeys(p.migrations for p in self.plugins if p.migrations))

    async def prepare_store(self) -> None:
        """Migrate (or insist on a migrated schema): the first step of every start, and all
        that command-line tools need."""
        if self.config.auto_migrate:
            await self.store.upgrade(self.migration_dirs)
        elif await self.store.pending_migrations(self.migration_dirs):
            raise StartupError(
                "the database schema is out of date; run `deployday db upgrade -c CONFIG` first"
            )

    async def start(self) -> None:
        self.coordination.claim()
        await self.prepare_store()
        await self.coordination.start(self.tracker, self._served, self._announce_on)
        for plugin in self.plugins:
            await plugin.start()
        await self.scheduler.start()
        for transport in self.transports.values():
            await transport.start(self.dispatcher.submit)
        log.info(
            "deployday started: networks=%s plugins=%s",
            ",".join(self.transports),
            ",".join(p.name for p in self.plugins),
        )

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking commands, let running ones finish and answer, then disconnect."""
        self.dispatcher.close()
        if not await self.tracker.drain(grace):
            log.warning("some commands did not finish within %.0fs and were cancelled", grace)
        await self.scheduler.stop()
        for plugin in reversed(self.plugins):
            await plugin.stop()
        for transport in self.transports.values():
            await transport.stop()
        await self.coordination.stop()
        await self.store.dispose()

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Run until SIGINT/SIGTERM or `request_stop()`."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            await self._stopping.wait()
        finally:
            await self.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
