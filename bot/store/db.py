"""The store: `await store.write(unit)` and `await store.read(unit)`, where a unit is a plain
function of a SQLAlchemy Core connection that does a command's whole database work and
returns plain values. One trip to a database thread per command (bot.store.workers)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, create_engine, event, make_url, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.files import OWNER, Modes, create, restrict
from bot.store import migrate
from bot.store.models import Counter, KeyValue
from bot.store.workers import Readers, Unit, Writer

T = TypeVar("T")
log = logging.getLogger(__name__)

READERS = 4
_READ_ONLY = "deployday_read_only"
_MIGRATION_LOCK = 0x6465706C6F79  # "deploy": any constant the instances agree on
_REVISIONS_KEY = "schema:revisions"
_migrating = threading.Lock()  # Alembic keeps global state: one upgrade at a time


class Store:
    def __init__(self, url: str, *, echo: bool = False, modes: Modes = OWNER) -> None:
        """`modes`: who may read a SQLite database (and its -wal and -shm files, which
        SQLite creates with the database's own mode): bot.files."""
        self.url = url
        self.path = sqlite_path(url)
        if self.path is not None and self.path.parent.is_dir():  # else SQLite says why
            try:
                create(self.path, modes)
                for suffix in ("-wal", "-shm"):
                    restrict(self.path.with_name(self.path.name + suffix), modes)
            except OSError as exc:
                log.warning("cannot make %s readable by its owner only: %s", self.path, exc)
        is_sqlite = url.startswith("sqlite")
        self.engine = create_engine(
            url,
            echo=echo,
            pool_size=READERS + 2,  # each thread keeps its own; migrations borrow one
            pool_reset_on_return=None if is_sqlite else "rollback",
        )
        self.dialect = self.engine.dialect.name
        if is_sqlite:
            _tune_sqlite(self.engine)
        self._writer = Writer(self.engine)
        self._readers = Readers(self.engine.execution_options(**{_READ_ONLY: True}), READERS)

    async def write(self, unit: Unit[T]) -> T:
        """Run `unit` in a transaction and return its result once that transaction has
        committed; if it raises, its changes are rolled back and the error is raised here.
        Units that arrive together share a commit, each in its own savepoint."""
        return await self._writer.submit(unit)

    async def read(self, unit: Unit[T]) -> T:
        """Run `unit` in a read-only transaction on a connection of its own."""
        return await self._readers.run(unit)

    @property
    def grouping(self) -> tuple[int, int]:
        """(write transactions committed, write units in them) since start."""
        return self._writer.commits, self._writer.units

    async def upgrade(self, version_dirs: Sequence[Path]) -> None:
        """Apply migrations. On PostgreSQL an advisory lock serialises instances that start
        together, so the second finds the schema current instead of racing the first.
        When the database says it has every revision the code ships, Alembic is not even
        loaded."""
        shipped = migrate.code_revisions(list(version_dirs))
        if await self._recorded_revisions() == shipped:
            return
        await asyncio.to_thread(self._upgrade, list(version_dirs), shipped)

    def _upgrade(self, version_dirs: list[Path], shipped: list[str]) -> None:
        with _migrating, self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            migrate.upgrade(conn, version_dirs)
            value, now = json.dumps(shipped), datetime.now(UTC)
            insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
            conn.execute(
                insert(KeyValue)
                .values(key=_REVISIONS_KEY, value=value, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[KeyValue.key], set_={"value": value, "updated_at": now}
                )
            )

    async def pending_migrations(self, version_dirs: Sequence[Path]) -> bool:
        if await self._recorded_revisions() == migrate.code_revisions(list(version_dirs)):
            return False
        return await self.read(lambda conn: migrate.is_behind(conn, list(version_dirs)))

    async def _recorded_revisions(self) -> list[str] | None:
        """The revisions the last upgrade through this code recorded, if any."""
        try:
            value = await self.read(
                lambda conn: conn.scalar(
                    select(KeyValue.value).where(KeyValue.key == _REVISIONS_KEY)
                )
            )
        except DBAPIError:
            return None  # a new database: no state table yet
        return json.loads(value) if value else None

    async def dispose(self) -> None:
        """Finish queued writes, then close every connection."""
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        self._writer.close()
        self._readers.close()
        self.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextlib.contextmanager
def orm(conn: Connection) -> Iterator[Session]:
    """An ORM session inside a unit, for work that reads better with mapped objects than
    in Core. It works in a savepoint of its own, released when the block ends (the unit's
    transaction still decides); what leaves the unit must be plain values, never objects."""
    with Session(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session
        session.commit()


def next_counter(conn: Connection, name: str) -> int:
    """Allocate the next value of a named counter inside the caller's transaction: unique
    and gapless even across processes, because the counter row stays locked until commit
    (and a unit rolled back to its savepoint gives its number back)."""
    return conn.execute(_counter_upsert(conn.dialect.name), {"name": name}).scalar_one()


@functools.cache
def _counter_upsert(dialect: str) -> Any:
    """Built once per dialect: building the statement cost more than running it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(Counter)
        .values(name=bindparam("name"), value=1)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )


def _tune_sqlite(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
            # acknowledged means durable, power loss included; group commit pays for it
            "synchronous=FULL",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # a writer takes SQLite's write lock up front instead of failing half-way
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
