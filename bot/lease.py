"""Leases in the database that at most one instance holds at a time, for what must happen
once even when several bot processes share a database: scheduled jobs (reminders,
summaries, digests) and serving a network (two replicas in one channel must not both
answer). The holder renews them; when it dies, another takes over once they expire."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.clock import Clock
from bot.store import KeyValue, Store
from bot.tasks import TaskTracker

log = logging.getLogger(__name__)


def instance_id() -> str:
    """Unique per process, readable in the database: host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    def __init__(
        self, store: Store, clock: Clock, name: str, ttl: timedelta, holder: str | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self.key = f"lease:{name}"
        self.ttl = ttl
        self.holder = holder or instance_id()
        self._held_until: datetime | None = None

    @property
    def held(self) -> bool:
        """True while our last successful renewal has not expired."""
        return self._held_until is not None and self._clock.now() < self._held_until

    async def renew(self) -> bool:
        """Take the lease if it is free or expired, or extend it if ours. One statement
        each, so two instances racing for it cannot both win."""
        now = self._clock.now()
        try:
            won = await self._store.write(lambda c: self._take(c, now))
        except Exception:
            log.exception("renewing %s failed; acting as if another instance holds it", self.key)
            won = False
        was_held = self.held
        self._held_until = now + self.ttl if won else None
        if won and not was_held:
            log.info("this instance (%s) now holds %s", self.holder, self.key)
        elif was_held and not won:
            log.warning("lost %s to another instance", self.key)
        return won

    def _take(self, conn: Connection, now: datetime) -> bool:
        result = conn.execute(
            update(KeyValue)
            .where(KeyValue.key == self.key)
            .where(or_(KeyValue.value == self.holder, KeyValue.updated_at < now - self.ttl))
            .values(value=self.holder, updated_at=now)
        )
        if result.rowcount == 1:
            return True
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        created = conn.execute(
            insert(KeyValue)
            .values(key=self.key, value=self.holder, updated_at=now)
            .on_conflict_do_nothing(index_elements=[KeyValue.key])
            .returning(KeyValue.key)
        ).first()
        return created is not None

    async def release(self) -> None:
        """Give the lease up on a clean shutdown so another instance takes over at once."""
        if self._held_until is None:
            return
        self._held_until = None
        await self._store.write(
            lambda c: c.execute(
                update(KeyValue)
                .where(KeyValue.key == self.key, KeyValue.value == self.holder)
                .values(updated_at=datetime(1970, 1, 1, tzinfo=self._clock.now().tzinfo))
            )
        )


class Leases:
    """The leases this instance competes for, all under one holder id, renewed together
    every third of the TTL."""

    def __init__(self, store: Store, clock: Clock, ttl: timedelta) -> None:
        self._store = store
        self._clock = clock
        self.ttl = ttl
        self.holder = instance_id()
        self._leases: dict[str, Lease] = {}

    def get(self, name: str) -> Lease:
        if name not in self._leases:
            self._leases[name] = Lease(self._store, self._clock, name, self.ttl, self.holder)
        return self._leases[name]

    async def renew_all(self) -> None:
        for lease in list(self._leases.values()):
            await lease.renew()

    async def keep(self, tracker: TaskTracker) -> None:
        """Renew for as long as the task runs; renewals are tracked work, like job runs."""
        while True:
            await self._clock.sleep_until(self._clock.now() + self.ttl / 3)
            await asyncio.wait({tracker.spawn(self.renew_all(), "renew-leases")})

    async def others(self, prefix: str) -> dict[str, str]:
        """Leases under `prefix` that another instance holds now: name -> holder. Tells
        which networks other instances serve, so announcements can reach them."""
        key = f"lease:{prefix}"
        stmt = (
            select(KeyValue.key, KeyValue.value)
            .where(KeyValue.key.startswith(key, autoescape=True))
            .where(KeyValue.updated_at >= self._clock.now() - self.ttl)
            .where(KeyValue.value != self.holder)
        )
        rows = await self._store.read(lambda c: c.execute(stmt).all())
        return {k.removeprefix(key): v for k, v in rows}

    async def release_all(self) -> None:
        for lease in self._leases.values():
            try:
                await lease.release()
            except Exception:
                log.exception("releasing %s failed; it will expire by itself", lease.key)
