"""Small named values that must survive a restart (a sync token, a login session, pending
link codes), kept in the core `state` table. Transports and core plugins get a `State`
injected instead of talking SQL, so they stay ignorant of the schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.clock import Clock, SystemClock
from bot.store import KeyValue, Store


class State:
    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self._clock = clock or SystemClock()

    async def get(self, key: str) -> str | None:
        return await self.store.read(
            lambda c: c.scalar(select(KeyValue.value).where(KeyValue.key == key))
        )

    async def set_many(self, values: Mapping[str, str]) -> None:
        """Write several values in one transaction: either all of them land or none."""
        if not values:
            return
        now = self._clock.now()
        await self.store.write(lambda c: put(c, values, now))

    async def set(self, key: str, value: str) -> None:
        await self.set_many({key: value})

    async def delete(self, key: str) -> None:
        await self.store.write(lambda c: c.execute(delete(KeyValue).where(KeyValue.key == key)))

    async def take(self, key: str) -> str | None:
        """Remove and return a value in one statement: of two racing takers, one gets it."""
        return await self.store.write(
            lambda c: c.scalar(
                delete(KeyValue).where(KeyValue.key == key).returning(KeyValue.value)
            )
        )

    async def purge(self, prefix: str, before: datetime) -> None:
        """Forget every value under `prefix` last written before `before`."""
        await self.store.write(
            lambda c: c.execute(
                delete(KeyValue).where(
                    KeyValue.key.startswith(prefix, autoescape=True), KeyValue.updated_at < before
                )
            )
        )

    async def get_json(self, key: str) -> Any:
        """The decoded value, or None when it is missing or not valid JSON."""
        raw = await self.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    async def set_json(self, key: str, value: Any) -> None:
        await self.set(key, json.dumps(value, separators=(",", ":")))


def put(conn: Connection, values: Mapping[str, str], now: datetime) -> None:
    """Insert or replace values inside the caller's unit of work."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for key, value in values.items():
        stmt = insert(KeyValue).values(key=key, value=value, updated_at=now)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[KeyValue.key],
                set_={"value": stmt.excluded.value, "updated_at": now},
            )
        )
