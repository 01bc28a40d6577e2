"""The database threads. A command's unit of work is one plain function run in one trip to a
thread that owns its connection, so the event loop never waits on the database and no
statement pays for an async hop of its own.

Writes go to a single writer thread. Units that arrive while a transaction is in flight
share the next one (group commit): each runs in its own SAVEPOINT, so one that fails is
rolled back alone, and every caller is answered only after the COMMIT that made its change
durable. Reads run on a small pool of threads with connections of their own, so they
never wait for the writer (SQLite in WAL mode, PostgreSQL's MVCC)."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
Unit = Callable[[Connection], T]


class Writes(Protocol):
    """A service that writes through a store (`_store`, a bot.store.Store)."""

    _store: Any


def writing(
    build: Callable[Concatenate[Any, P], Unit[T]],
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]:
    """The async method that runs, as one write, the unit of work `build` makes: a service
    offers both, the unit for features that run it inside a larger one, the method for
    everyone else (`report = writing(reporting)`), without writing its parameters twice."""

    async def method(self: Writes, *args: P.args, **kwargs: P.kwargs) -> T:
        return cast(T, await self._store.write(build(self, *args, **kwargs)))

    method.__doc__ = build.__doc__
    return method


MAX_BATCH = 256  # units in one shared transaction
MAX_ATTEMPTS = 3  # for units PostgreSQL aborts as a deadlock or serialization failure
_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected


@dataclass(slots=True)
class _Job(Generic[T]):
    unit: Unit[T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop
    attempts: int = 0
    outcome: tuple[bool, Any] = field(default=(False, None))


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled; the work stands or fell all the same
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in _RETRYABLE


class Writer:
    """One thread, one connection, every write of this process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="db-writer", daemon=True)
        self._connection: Connection | None = None
        self._started = False
        self.commits = 0  # transactions committed; units / commits = the grouping achieved
        self.units = 0

    def submit(self, unit: Unit[T]) -> asyncio.Future[T]:
        if not self._started:
            self._started = True
            self._thread.start()
        loop = asyncio.get_running_loop()
        job = _Job(unit, loop.create_future(), loop)
        self._queue.put(job)
        return job.future

    def close(self) -> None:
        """Finish what is queued, then stop the thread and close the connection."""
        if self._started:
            self._queue.put(None)
            self._thread.join()

    def _serve(self) -> None:
        retry: list[_Job[Any]] = []
        stopping = False
        try:
            while True:
                batch, retry = retry, []
                if not batch:
                    first = None if stopping else self._queue.get()
                    if first is None:
                        return
                    batch = [first]
                while len(batch) < MAX_BATCH and not stopping:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stopping = True
                    else:
                        batch.append(job)
                retry = self._commit(batch)
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _conn(self) -> Connection:
        if self._connection is None or self._connection.invalidated:
            if self._connection is not None:
                self._connection.close()
            self._connection = self._engine.connect()
        return self._connection

    def _commit(self, batch: list[_Job[Any]]) -> list[_Job[Any]]:
        """Run `batch` in one transaction and answer its callers; returns the units to run
        again (PostgreSQL aborted them as a deadlock or serialization failure)."""
        try:
            conn = self._conn()
            with conn.begin():
                if len(batch) == 1:
                    batch[0].outcome = (True, batch[0].unit(conn))
                else:
                    for job in batch:
                        job.outcome = self._savepoint(conn, job)
        except Exception as exc:
            # nothing of this transaction was committed: a lone unit's own error, or the
            # COMMIT itself failing for everyone in it
            for job in batch:
                job.outcome = (False, exc)
        else:
            self.commits += 1
            self.units += len(batch)
        retry = []
        for job in batch:
            ok, value = job.outcome
            if not ok and _retryable(value) and job.attempts + 1 < MAX_ATTEMPTS:
                job.attempts += 1
                retry.append(job)
            else:
                job.loop.call_soon_threadsafe(_settle, job.future, ok, value)
        return retry

    @staticmethod
    def _savepoint(conn: Connection, job: _Job[Any]) -> tuple[bool, Any]:
        # Straight to the driver: SQLAlchemy's nested-transaction bookkeeping costs more
        # than the unit's own statements, and nothing but this method uses the savepoint.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("SAVEPOINT unit")
        try:
            result = job.unit(conn)
        except Exception as exc:
            driver.execute("ROLLBACK TO SAVEPOINT unit")
            driver.execute("RELEASE SAVEPOINT unit")
            return False, exc
        driver.execute("RELEASE SAVEPOINT unit")
        return True, result


class Readers:
    """A few threads with a connection each; reads never queue behind writes."""

    def __init__(self, engine: Engine, threads: int) -> None:
        self._engine = engine
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db-read")

    async def run(self, unit: Unit[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, unit)

    def _run(self, unit: Unit[T]) -> T:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.invalidated:
            conn = self._local.conn = self._engine.connect()
            with self._lock:
                self._connections.append(conn)
        with conn.begin():
            return unit(conn)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
