"""Scheduled jobs run once even when several instances share the database, and another
instance takes over when the holder dies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.config import engine_url
from bot.devtools.harness import Harness
from bot.lease import Lease, Leases
from bot.scheduler import Scheduler
from bot.store import Store
from bot.tasks import TaskTracker
from plugins import MIGRATIONS

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


async def store_for(url: str) -> Store:
    store = Store(engine_url(url, Path.cwd()))
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
    leases = {name: Leases(store, clock, TTL) for name in "ab"}
    schedulers, keepers = {}, {}
    for name in "ab":
        scheduler = Scheduler(clock, trackers[name], leases[name].get("jobs"))

        async def job(name: str = name) -> None:
            runs.append((name, clock.now()))

        scheduler.every("summary", timedelta(minutes=1), job)
        schedulers[name] = scheduler
    try:
        for name in "ab":
            await leases[name].renew_all()
            keepers[name] = asyncio.create_task(leases[name].keep(trackers[name]))
            await schedulers[name].start()

        async def advance(seconds: int) -> None:
            for _ in range(seconds):
                clock.advance(seconds=1)
                for tracker in trackers.values():
                    await tracker.settle()

        await advance(180)
        assert runs == [("a", T0 + timedelta(minutes=m)) for m in (1, 2, 3)]
        runs.clear()
        keepers["a"].cancel()  # a goes away (and hands the lease over)
        await schedulers["a"].stop()
        await leases["a"].release_all()
        await advance(180)
        assert [who for who, _ in runs] == ["b", "b", "b"]
    finally:
        keepers["b"].cancel()
        await schedulers["b"].stop()
        await store.dispose()


async def test_a_standby_replica_stays_silent_until_it_holds_the_network(
    database_url: str, tmp_path: Path
) -> None:
    """Two replicas on one network and database: only the holder answers; when it stops,
    the other takes the network over."""
    clock = FakeClock(T0)
    bots = [
        await Harness.start(
            tmp_path / f"{n}.sqlite3",
            database_url=database_url,
            clock=clock,
            coordination={"lease": True, "lease_seconds": 30},
        )
        for n in "ab"
    ]
    try:
        said = [await bot.say("dave", "!break pkgdb down") for bot in bots]
        assert [s.text for s in said] == ["#1 opened: [sev3] pkgdb: down — !take 1 to own it", ""]
        await bots[0].close()
        for _ in range(40):
            await bots[1].advance(seconds=1)
        said = await bots[1].say("dave", "!incidents")
        assert said.text.splitlines() == [
            "1 open incident",
            "#1 [sev3] pkgdb: down — open, unowned, 40s old",
        ]
    finally:
        await bots[1].close()
