"""How one bot process shares its database with others, decided once from the config:

- PostgreSQL (or `coordination.lease: true`): leases in the database decide which instance
  serves each network and runs the scheduled jobs (bot.lease); replicas stand by.
- SQLite: one `deployday run` per database file, held by a lock beside it (bot.runlock);
  a second `run` refuses to start, and the console and command-line tools on the same file
  leave the scheduled jobs to the running bot.
- `coordination.lease: false`: none of this (every process serves all it is configured
  for; the in-process test harness, where each test owns its database).

Either way, announcements made by one process for networks another serves go through the
relay table (bot.relay), so they reach chat within a second or so."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.lease import Leases
from bot.relay import Deliver, Relay
from bot.runlock import RunLock, Unopposed
from bot.scheduler import Turn
from bot.store import Store
from bot.tasks import TaskTracker

RELAY_INTERVAL = timedelta(seconds=1)  # how often relayed announcements are picked up


class Coordination:
    def __init__(self, config: Config, store: Store, clock: Clock, networks: list[str]) -> None:
        """`networks`: the ones this process would serve (not the console)."""
        self._networks = networks
        c = config.coordination
        by_lease = c.lease is True or (c.lease == "auto" and store.dialect == "postgresql")
        self.leases = Leases(store, clock, timedelta(seconds=c.lease_seconds)) if by_lease else None
        self.lock = (
            RunLock(store.path, config.modes.file)
            if c.lease == "auto" and not by_lease and store.path is not None
            else None
        )
        self.relay = (
            Relay(store, clock, self._elsewhere, RELAY_INTERVAL)
            if self.leases or self.lock
            else None
        )
        if self.leases is not None:
            for name in networks:
                self.leases.get(f"network:{name}")
        self._background: list[asyncio.Task[None]] = []

    @property
    def jobs(self) -> Turn | None:
        """What says whether scheduled jobs run in this process now (None: always)."""
        if self.leases is not None:
            return self.leases.get("jobs")
        return Unopposed(self.lock) if self.lock is not None else None

    def serves(self, network: str) -> bool:
        """Whether this process answers on `network` now: a replica on standby does not."""
        return self.leases is None or self.leases.get(f"network:{network}").held

    async def _elsewhere(self) -> set[str]:
        """Networks another process serves now, for the relay."""
        if self.leases is not None:
            return set(await self.leases.others("network:"))
        runner = self.lock.runner() if self.lock is not None else None
        return set(runner.networks) if runner is not None else set()

    def claim(self) -> None:
        """Before serving: take the SQLite run lock, or StartupError in one line."""
        if self.lock is not None and self._networks:
            self.lock.acquire(self._networks)

    async def start(
        self, tracker: TaskTracker, served: Callable[[], set[str]], deliver: Deliver
    ) -> None:
        """Once the schema is in place: take the leases, deliver what others relay."""
        if self.leases is not None:
            await self.leases.renew_all()
            self._spawn(self.leases.keep(tracker), "leases")
        if self.relay is not None and self._networks:
            self._spawn(self.relay.run(served, deliver, tracker), "relay")

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        self._background.append(asyncio.create_task(job, name=name))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.leases is not None:
            await self.leases.release_all()
        if self.lock is not None:
            self.lock.release()
