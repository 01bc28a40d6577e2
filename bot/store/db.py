"""Engine and sessions. Services open `store.write()` for changes and `store.read()` for
queries; the split lets SQLite take its write lock up front instead of failing mid-way."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util.concurrency import await_

from bot.store import migrate
from bot.store.models import Counter, KeyValue

_READ_ONLY = "deployday_read_only"
_MIGRATION_LOCK = 0x6465706C6F79  # "deploy": any constant the instances agree on
_REVISIONS_KEY = "schema:revisions"


class Store:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        # Sessions always end in COMMIT or ROLLBACK, so the pool's own rollback on return
        # would only cost SQLite a round trip to its thread per transaction.
        self.engine = create_async_engine(
            url,
            echo=echo,
            pool_pre_ping=not sqlite,
            pool_reset_on_return=None if sqlite else "rollback",
        )
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            _tune_sqlite(self.engine.sync_engine)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time. Taking turns here, in the event loop, is cheap;
        # racing for its lock makes the losers sleep in SQLite's busy handler instead.
        self._write_turn = asyncio.Lock() if sqlite else None
        self._reader = async_sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends without error, else rolls back.
        Not to be nested within another write of the same task."""
        if self._write_turn is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        async with self._write_turn, self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reader() as session, session.begin():
            yield session

    async def upgrade(self, version_dirs: Sequence[Path]) -> None:
        """Apply migrations. On PostgreSQL an advisory lock serialises instances that start
        together, so the second finds the schema current instead of racing the first.
        Within a process they run one at a time too: Alembic keeps global state. When the
        database says it has every revision the code ships, Alembic is not even loaded."""
        shipped = migrate.code_revisions(list(version_dirs))
        if await self._recorded_revisions() == shipped:
            return
        async with _migration_lock(), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            await conn.run_sync(migrate.upgrade, list(version_dirs))
            value = json.dumps(shipped)
            insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
            now = datetime.now(UTC)
            await conn.execute(
                insert(KeyValue)
                .values(key=_REVISIONS_KEY, value=value, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[KeyValue.key], set_={"value": value, "updated_at": now}
                )
            )

    async def pending_migrations(self, version_dirs: Sequence[Path]) -> bool:
        if await self._recorded_revisions() == migrate.code_revisions(list(version_dirs)):
            return False
        async with self.engine.connect() as conn:
            return await conn.run_sync(migrate.is_behind, list(version_dirs))

    async def _recorded_revisions(self) -> list[str] | None:
        """The revisions the last upgrade through this code recorded, if any."""
        try:
            async with self.read() as s:
                value = await s.scalar(select(KeyValue.value).where(KeyValue.key == _REVISIONS_KEY))
        except DBAPIError:
            return None  # a new database: no state table yet
        return json.loads(value) if value else None

    async def dispose(self) -> None:
        await self.engine.dispose()


_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _migration_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    if loop not in _migration_locks:
        _migration_locks[loop] = asyncio.Lock()
    return _migration_locks[loop]


async def next_counter(session: AsyncSession, name: str) -> int:
    """Allocate the next value of a named counter inside the caller's transaction: unique
    and gapless even across processes, because the counter row stays locked until commit."""
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Counter)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )
    return (await session.execute(stmt)).scalar_one()


def _tune_sqlite(sync_engine: Any) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
            "synchronous=NORMAL",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        # Straight to aiosqlite: one trip to its thread, where a SQLAlchemy statement
        # (cursor, execute, close) takes three, on every transaction.
        await_(
            conn.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")
        )
