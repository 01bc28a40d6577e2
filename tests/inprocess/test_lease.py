"""Scheduled jobs run once even when several instances share the database, and another
instance takes over when the holder dies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.config import async_database_url
from bot.lease import Lease
from bot.scheduler import Scheduler
from bot.store import Store
from bot.tasks import TaskTracker
from plugins import MIGRATIONS

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


async def store_for(url: str) -> Store:
    store = Store(async_database_url(url, Path.cwd()))
    await store.upgrade([MIGRATIONS / "versions"])
    return store


async def test_one_holder_at_a_time_and_takeover_after_expiry(database_url: str) -> None:
    store, clock = await store_for(database_url), FakeClock(T0)
    a = Lease(store, clock, "jobs", TTL, holder="a")
    b = Lease(store, clock, "jobs", TTL, holder="b")
    try:
        assert await a.renew() and a.held
        assert not await b.renew() and not b.held
        clock.advance(seconds=20)
        assert await a.renew()  # the holder extends it
        clock.advance(seconds=29)
        assert not await b.renew()  # 29 s after the last renewal: still a's
        clock.advance(seconds=2)  # a died: nobody renewed for 31 s
        assert not a.held
        assert await b.renew() and b.held
        assert not await a.renew()  # a came back: b keeps it
        await b.release()  # clean shutdown hands it over at once
        assert await a.renew()
    finally:
        await store.dispose()


async def test_two_schedulers_run_each_job_once(database_url: str) -> None:
    store, clock = await store_for(database_url), FakeClock(T0)
    runs: list[tuple[str, datetime]] = []
    trackers = {name: TaskTracker() for name in "ab"}
    schedulers = {}
    for name in "ab":
        scheduler = Scheduler(clock, trackers[name], Lease(store, clock, "jobs", TTL, holder=name))

        async def job(name: str = name) -> None:
            runs.append((name, clock.now()))

        scheduler.every("summary", timedelta(minutes=1), job)
        schedulers[name] = scheduler
    try:
        await schedulers["a"].start()
        await schedulers["b"].start()

        async def advance(seconds: int) -> None:
            for _ in range(seconds):
                clock.advance(seconds=1)
                for tracker in trackers.values():
                    await tracker.settle()

        await advance(180)
        assert runs == [("a", T0 + timedelta(minutes=m)) for m in (1, 2, 3)]
        runs.clear()
        await schedulers["a"].stop()  # a goes away (and releases the lease)
        await advance(180)
        assert [who for who, _ in runs] == ["b", "b", "b"]
    finally:
        await schedulers["b"].stop()
        await store.dispose()
