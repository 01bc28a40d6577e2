"""The fake clock and the scheduler: jobs run when time is moved, never by sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.scheduler import Scheduler, next_daily
from bot.tasks import TaskTracker

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def step(clock: FakeClock, tracker: TaskTracker, **delta: float) -> None:
    """Advance through every wake-up on the way, as the in-process harness does."""
    target = clock.now() + timedelta(**delta)
    while (due := clock.next_wakeup) is not None and due <= target:
        clock.set(due)
        await tracker.settle()
    clock.set(target)
    await tracker.settle()


async def test_fake_clock_wakes_sleepers_in_order() -> None:
    clock = FakeClock(T0)
    woke: list[str] = []

    async def sleeper(name: str, minutes: int) -> None:
        await clock.sleep_until(T0 + timedelta(minutes=minutes))
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("b", 10)), asyncio.create_task(sleeper("a", 5))]
    await asyncio.sleep(0)
    clock.advance(minutes=7)
    await asyncio.sleep(0)
    assert woke == ["a"]
    clock.advance(minutes=3)
    await asyncio.gather(*tasks)
    assert woke == ["a", "b"]
    with pytest.raises(ValueError):
        clock.set(T0)


async def test_every_runs_on_time_and_survives_a_failing_run() -> None:
    clock, tracker = FakeClock(T0), TaskTracker()
    scheduler = Scheduler(clock, tracker)
    runs: list[datetime] = []

    async def job() -> None:
        runs.append(clock.now())
        if len(runs) == 2:
            raise RuntimeError("transient")

    scheduler.every("summary", timedelta(minutes=15), job)
    await scheduler.start()
    await step(clock, tracker, minutes=50)
    assert runs == [T0 + timedelta(minutes=m) for m in (15, 30, 45)]
    await scheduler.stop()


async def test_a_job_that_falls_behind_skips_missed_runs() -> None:
    clock, tracker = FakeClock(T0), TaskTracker()
    scheduler = Scheduler(clock, tracker)
    runs: list[datetime] = []

    async def job() -> None:
        runs.append(clock.now())

    scheduler.every("tick", timedelta(minutes=1), job)
    await scheduler.start()
    await asyncio.sleep(0)
    clock.advance(minutes=10)  # one jump: the job wakes once, not ten times
    await tracker.settle()
    await step(clock, tracker, minutes=1)
    assert runs == [T0 + timedelta(minutes=10), T0 + timedelta(minutes=11)]
    await scheduler.stop()


async def test_daily_jobs_follow_the_local_clock() -> None:
    tz = ZoneInfo("Europe/Prague")
    clock, tracker = FakeClock(T0), TaskTracker()
    scheduler = Scheduler(clock, tracker)
    runs: list[datetime] = []

    async def job() -> None:
        runs.append(clock.now())

    scheduler.daily("digest", time(18, 30), tz, job)
    await scheduler.start()
    await step(clock, tracker, days=2)
    assert [r.astimezone(tz).strftime("%d %H:%M") for r in runs] == ["25 18:30", "26 18:30"]
    await scheduler.stop()


def test_next_daily_across_daylight_saving_change() -> None:
    tz = ZoneInfo("Europe/Prague")
    before = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # Saturday; clocks jump on Sunday
    nxt = next_daily(before, time(9, 0), tz)
    assert nxt.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") == "2026-03-29 09:00 CEST"
