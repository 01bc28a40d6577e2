"""The only source of "now": everything that reads time or sleeps goes through a Clock,
so tests and the demo can move time by hand instead of waiting for it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware, in UTC."""

    async def sleep_until(self, when: datetime) -> None:
        """Return once `now()` has reached `when`."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        while delay > 0:
            await asyncio.sleep(delay)
            delay = (when - self.now()).total_seconds()


class FakeClock:
    """A clock that only moves when told to; sleepers wake when `advance` passes their time."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, when: datetime) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._seq), fut))
        await fut

    def set(self, when: datetime) -> None:
        """Jump to `when` (never backwards) and wake every sleeper that is now due."""
        if when < self._now:
            raise ValueError("time does not go backwards")
        self._now = when
        while self._sleepers and self._sleepers[0][0] <= when:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    def advance(self, seconds: float = 0, **delta: float) -> None:
        self.set(self._now + timedelta(seconds=seconds, **delta))

    @property
    def next_wakeup(self) -> datetime | None:
        live = [w for w, _, f in self._sleepers if not f.done()]
        return min(live) if live else None
