"""Periodic jobs on the injected clock. A job that fails is logged and runs again at its
next time; a job that falls behind skips the missed runs instead of bursting."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Protocol

from bot.clock import Clock
from bot.tasks import TaskTracker

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
NextTime = Callable[[datetime], datetime]


class Turn(Protocol):
    """Whether this process may run the jobs now (a lease it holds, bot.lease; or nobody
    else running the bot on its SQLite file, bot.runlock)."""

    @property
    def held(self) -> bool: ...


@dataclass(slots=True)
class _Entry:
    name: str
    next_after: NextTime
    job: Job


class Scheduler:
    """With a `lease` (a Turn), jobs run only while this process holds it: several may
    share a database, and each job must still run once."""

    def __init__(self, clock: Clock, tracker: TaskTracker, lease: Turn | None = None) -> None:
        self._clock = clock
        self._tracker = tracker
        self._lease = lease
        self._entries: list[_Entry] = []
        self._loops: list[asyncio.Task[None]] = []

    def every(self, name: str, interval: timedelta, job: Job) -> None:
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self._add(_Entry(name, lambda t: t + interval, job))

    def daily(self, name: str, at: time, tz: tzinfo, job: Job) -> None:
        self._add(_Entry(name, lambda t: next_daily(t, at, tz), job))

    def _add(self, entry: _Entry) -> None:
        self._entries.append(entry)
        if self._loops:  # already running: start this one too
            self._loops.append(asyncio.create_task(self._loop(entry), name=f"job:{entry.name}"))

    async def start(self) -> None:
        self._loops += [
            asyncio.create_task(self._loop(e), name=f"job:{e.name}") for e in self._entries
        ]
        await asyncio.sleep(0)  # let each loop compute its first due time before we return

    async def stop(self) -> None:
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []

    async def reset(self) -> None:
        """Stop and forget every job, so they can be registered anew (a config reload)."""
        await self.stop()
        self._entries = []

    async def _loop(self, entry: _Entry) -> None:
        due = entry.next_after(self._clock.now())
        while True:
            await self._clock.sleep_until(due)
            if self._lease is None or self._lease.held:
                run = self._tracker.spawn(self._run(entry), f"run:{entry.name}")
                await asyncio.wait({run})
            else:
                log.debug("%s is due but another instance runs the jobs", entry.name)
            now = self._clock.now()
            due = entry.next_after(due)
            while due <= now:
                due = entry.next_after(due)

    async def _run(self, entry: _Entry) -> None:
        try:
            await entry.job()
        except Exception:
            log.exception("scheduled job %s failed; it will run again at its next time", entry.name)


def next_daily(after: datetime, at: time, tz: tzinfo) -> datetime:
    """The first `at` o'clock in zone `tz` strictly after `after`."""
    local = after.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(after.tzinfo)
