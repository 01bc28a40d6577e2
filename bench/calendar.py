"""`python -m bench.calendar [N …]`: what the calendar feed of N planned deploys costs (each
with three alarms, half of them API breaks): reading the plans in one trip to the database
(SQLite) and rendering them with icalendar, as `GET /calendar.ics` and `deployday plan ics`
do, median of five, in milliseconds, with the feed's size. Numbers, not pass/fail."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.devtools.harness import Harness
from plugins.plans.agenda import agenda
from plugins.plans.calendar import feed
from plugins.plans.commands import PlansPlugin

T0 = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
RUNS = 5


async def measure(n: int) -> str:
    with tempfile.TemporaryDirectory() as d:
        bot = await Harness.start(Path(d) / "cal.sqlite3", clock=FakeClock(T0))
        try:
            plugin = next(p for p in bot.app.plugins if isinstance(p, PlansPlugin))
            by = (await bot.app.people.find_or_record("test", "alice")).person
            for i in range(n):
                when = T0 + timedelta(hours=i + 1)
                await plugin.plan(by, f"d{i}", when, "pkgdb", None, i % 2 == 0, "a, b; c", T0)
            read, render, size = [], [], 0
            for _ in range(RUNS):
                started = time.perf_counter()
                plans = await agenda(bot.app.store, T0 - timedelta(days=30))
                read.append(time.perf_counter() - started)
                started = time.perf_counter()
                size = len(feed(plans, plugin.calendar.shape()))
                render.append(time.perf_counter() - started)
        finally:
            await bot.close()
    ms = [statistics.median(t) * 1000 for t in (read, render)]
    return f"{n:>5} plans: read {ms[0]:7.1f} ms  render {ms[1]:7.1f} ms  {size / 1024:6.0f} KiB"


def main(argv: list[str]) -> None:
    for n in [int(a) for a in argv] or [10, 100, 1000]:
        print(asyncio.run(measure(n)))


if __name__ == "__main__":
    main(sys.argv[1:])
