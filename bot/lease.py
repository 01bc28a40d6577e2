"""A lease in the database that at most one instance holds at a time, so scheduled jobs
(reminders, summaries, digests) run once even when several bot processes share a
database. The holder renews it; when the holder dies, another takes over once it expires."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.clock import Clock
from bot.store import KeyValue, Store

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
            async with self._store.write() as s:
                result = await s.execute(
                    update(KeyValue)
                    .where(KeyValue.key == self.key)
                    .where(or_(KeyValue.value == self.holder, KeyValue.updated_at < now - self.ttl))
                    .values(value=self.holder, updated_at=now)
                )
                won = result.rowcount == 1
                if not won:
                    insert = (
                        postgresql.insert if s.bind.dialect.name == "postgresql" else sqlite.insert
                    )
                    result = await s.execute(
                        insert(KeyValue)
                        .values(key=self.key, value=self.holder, updated_at=now)
                        .on_conflict_do_nothing(index_elements=[KeyValue.key])
                    )
                    won = result.rowcount == 1
        except Exception:
            log.exception("renewing %s failed; acting as if another instance holds it", self.key)
            won = False
        was_held = self.held
        self._held_until = now + self.ttl if won else None
        if won and not was_held:
            log.info("this instance (%s) now runs the scheduled jobs (%s)", self.holder, self.key)
        elif was_held and not won:
            log.warning("lost %s to another instance", self.key)
        return won

    async def release(self) -> None:
        """Give the lease up on a clean shutdown so another instance takes over at once."""
        if self._held_until is None:
            return
        self._held_until = None
        async with self._store.write() as s:
            await s.execute(
                update(KeyValue)
                .where(KeyValue.key == self.key, KeyValue.value == self.holder)
                .values(updated_at=datetime(1970, 1, 1, tzinfo=self._clock.now().tzinfo))
            )
