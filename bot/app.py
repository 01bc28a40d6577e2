"""The application: builds store, people, commands, scheduler and transports from config,
starts them in order and stops them cleanly (in-flight commands finish first); reloads the
config on SIGHUP and keeps systemd informed (READY, WATCHDOG, STOPPING)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from bot import __version__, redact
from bot.admins import Admins, log_identification
from bot.casemapping import fold
from bot.clock import Clock, SystemClock
from bot.commands import Level, Registry
from bot.config import Config
from bot.coordination import Coordination
from bot.dispatcher import Dispatcher
from bot.errors import StartupError
from bot.loading import load_plugin_classes
from bot.messages import IdentifiedBy, Message, Reply, Sender
from bot.notify import Notifier
from bot.people import People
from bot.plugin import Handler, NetworkStatus, Plugin, PluginAPI
from bot.reload import reload
from bot.scheduler import Scheduler
from bot.store import Store
from bot.store.errors import database_unavailable
from bot.tasks import TaskTracker
from bot.transports.base import Paging, Transport
from bot.transports.supervisor import SupervisedTransport
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
        notifier: Notifier | None = None,
        reload: Callable[[], Config] | None = None,
    ) -> None:
        redact.install()  # before anything reads a secret
        self.config = config
        self.notifier = notifier or Notifier(None)
        self.read_config = reload  # reads and checks the config file again, for SIGHUP
        self.clock = clock or SystemClock()
        self.store = store or Store(config.database_url, modes=config.modes)
        self.transports = {t.name: t for t in transports}
        self.tracker = TaskTracker()
        networks = [name for name, t in self.transports.items() if not t.trusted]
        self.coordination = Coordination(config, self.store, self.clock, networks)
        self.scheduler = Scheduler(self.clock, self.tracker, self.coordination.jobs)
        self._background: list[asyncio.Task[None]] = []  # readiness, watchdog, reloads
        self.people = People(self.store, self.clock, self)
        self.registry = Registry()
        self.routes = Routes()
        self.dispatcher = Dispatcher(self, self.tracker)
        self.command_stats = self.dispatcher.stats
        self._shared: dict[Callable[..., Any], Any] = {}
        self._subscribers: dict[str, list[Handler]] = {}
        self.admins = Admins(config.admins)
        classes = (
            plugin_classes if plugin_classes is not None else load_plugin_classes(config.plugins)
        )
        self.plugins = [cls(self) for cls in classes]
        for plugin in self.plugins:
            for cmd in plugin.commands():
                self.registry.add(cmd)
        self._stopping = asyncio.Event()
        self._stop_reason = "stop requested"

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
        """Whether any identity of theirs is among the admins (ADMIN), or a plugin that
        grants `level` (roster membership) grants it to them."""
        if level is Level.ADMIN:
            return await self._admin_person(person_id)
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

    async def send_privately(self, message: Message, reply: Reply) -> bool:
        """Send `reply` to the sender of `message` alone: in the direct chat it came from,
        else privately on its network; False when the network offers no private way."""
        if message.room.is_direct:
            await self.send(message.network, message.room.id, reply)
            return True
        transport = self.transports.get(message.network)
        room = transport.private_room(message.sender) if transport else None
        if room is None:
            return False
        await self.send(message.network, room, reply)
        return True

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

    def network_names(self) -> tuple[str, ...]:
        """The networks this instance serves and those its config names."""
        return tuple(dict.fromkeys([*self.transports, *self.config.networks]))

    def identified_by(self, network: str) -> IdentifiedBy | None:
        """How `network` identifies people now: its transport knows (an IRC server's
        account tracking is learnt on connecting); without one (`deployday console`, the
        CLI), the config's word, and services accounts where it says `auto`."""
        transport = self.transports.get(network)
        if transport is not None:
            return transport.identified_by
        configured = self.config.networks.get(network)
        if configured is None:
            return None
        if configured.kind == "matrix":
            return IdentifiedBy.USER_ID
        return IdentifiedBy.NICK if configured.identify_by == "nick" else IdentifiedBy.ACCOUNT

    def current_id(self, network: str, nick: str) -> str | None:
        transport = self.transports.get(network)
        return transport.current_id(nick) if transport else None

    def fold(self, network: str, name: str) -> str:
        transport = self.transports.get(network)
        if transport is not None:
            return transport.fold(name)
        configured = self.config.networks.get(network)
        if configured is not None and configured.kind == "irc":
            return fold(name)  # the IRC default until a server says otherwise
        return name if configured is not None else name.casefold()

    def own_names(self, network: str) -> tuple[str, ...]:
        transport = self.transports.get(network)
        return transport.own_names if transport else ()

    def is_trusted(self, network: str) -> bool:
        transport = self.transports.get(network)
        return transport is not None and transport.trusted

    async def is_admin(self, network: str, sender: Sender, person_id: int | None = None) -> bool:
        """The console, a room's admin, a listed identity, or a person any of whose linked
        identities is listed."""
        if self.is_trusted(network) or sender.room_admin or self._listed(network, sender.id):
            return True
        return person_id is not None and await self._admin_person(person_id)

    async def _admin_person(self, person_id: int) -> bool:
        keys = await self.people.identity_keys(person_id)
        return any(self._listed(network, key) for network, key in keys)

    def _listed(self, network: str, key: str) -> bool:
        return self.admins.match(
            network, key, self.identified_by(network), lambda name: self.fold(network, name)
        )

    # --- life cycle -----------------------------------------------------------------------

    @property
    def migration_dirs(self) -> list[Path]:
        return list(dict.fromkeys(p.migrations for p in self.plugins if p.migrations))

    async def prepare_store(self) -> None:
        """Migrate (or insist on a migrated schema): the first step of every start, and all
        that command-line tools need."""
        try:
            if self.config.auto_migrate:
                await self.store.upgrade(self.migration_dirs)
                return
            behind = await self.store.pending_migrations(self.migration_dirs)
        except (DBAPIError, OSError) as exc:
            log.debug("opening the database failed", exc_info=True)
            raise database_unavailable(self.config.database_url, exc) from None
        if behind:
            raise StartupError(
                "the database schema is out of date; run `deployday db upgrade -c CONFIG` first"
            )

    async def start(self) -> None:
        await self.prepare_store()  # says in one line when the database cannot be opened
        self.coordination.claim()
        await self.coordination.start(self.tracker, self._served, self._announce_on)
        for plugin in self.plugins:
            await plugin.start()
        await self.scheduler.start()
        log_identification(self.admins, self.transports, self.config)
        for transport in self.transports.values():
            await transport.start(self.dispatcher.submit)
        log.info(
            "deployday started: version %s, networks %s, database %s, plugins %s",
            __version__,
            ", ".join(self.transports) or "none",
            self.store.dialect,
            ", ".join(p.name for p in self.plugins),
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
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.coordination.stop()
        await self.store.dispose()

    def request_stop(self, reason: str = "stop requested") -> None:
        self._stop_reason = reason
        self._stopping.set()

    async def run(self) -> None:
        """Run until SIGINT/SIGTERM or `request_stop()`; SIGHUP reloads the config."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self._on_hangup)
        began = time.monotonic()
        started = False
        try:
            await self.start()
            started = True
            self._background.append(asyncio.create_task(self._ready_when_joined()))
            if self.notifier.watchdog_interval:
                self._background.append(
                    asyncio.create_task(self.notifier.watchdog(self._database_answers))
                )
            await self._stopping.wait()
        finally:
            self.notifier.send(stopping="1", status=self._stop_reason)
            await self.stop()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if started:
                log.info(
                    "deployday stopped (%s) after %s",
                    self._stop_reason,
                    timedelta(seconds=round(time.monotonic() - began)),
                )

    # --- systemd and SIGHUP -----------------------------------------------------------------

    async def _ready_when_joined(self) -> None:
        """READY=1 once every network is connected and in all its rooms."""
        waiting = [t for t in self.transports.values() if isinstance(t, SupervisedTransport)]
        self.notifier.send(status=f"joining {', '.join(t.name for t in waiting) or 'nothing'}")
        await asyncio.gather(*(t.wait_ready() for t in waiting))
        self.notifier.send(ready="1", status=f"serving {', '.join(self.transports)}")
        log.info("every network joined: %s", ", ".join(self.transports) or "none")

    async def _database_answers(self) -> None:
        await self.store.read(_select_one)

    def _on_hangup(self) -> None:
        self._background.append(asyncio.create_task(reload(self), name="reload"))

    async def reconfigure(self, new: Config, held: Sequence[str]) -> None:
        """Run on `new`, keeping the running values of the `held` keys (those only a
        restart can change): plugins restart on it, with their jobs, services and
        subscriptions; the connections stay."""
        await self.scheduler.reset()
        for plugin in reversed(self.plugins):
            await plugin.stop()
        self.config = new.model_copy(update={k: getattr(self.config, k) for k in held})
        self.admins = Admins(self.config.admins)
        self._shared = {}
        self._subscribers = {}
        for plugin in self.plugins:
            await plugin.start()
        await self.scheduler.start()


def _select_one(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))
