"""MTTA / MTTR arithmetic over per-incident timelines; pure, so tested with exact figures.

Definitions (also in README):
- time to acknowledge (TTA): report → first response (ack, take, assign, fix, won't fix,
  duplicate), for incidents that got one;
- time to repair (TTR): report → the fix that stands (the last `fixed`, when the incident
  is fixed now; a reopened incident is open again and has no TTR until fixed again);
- median and p90 interpolate linearly between the closest ranks (numpy's default).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from plugins.incidents.lifecycle import Status


@dataclass(frozen=True, slots=True)
class Timeline:
    number: int
    service: str
    status: Status
    reported_at: datetime
    first_response_at: datetime | None
    last_fix_at: datetime | None
    owner: str | None = None

    @property
    def tta(self) -> timedelta | None:
        return None if self.first_response_at is None else self.first_response_at - self.reported_at

    @property
    def ttr(self) -> timedelta | None:
        if self.status is not Status.FIXED or self.last_fix_at is None:
            return None
        return self.last_fix_at - self.reported_at


@dataclass(frozen=True, slots=True)
class Stats:
    count: int
    mean: timedelta | None
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True, slots=True)
class Summary:
    total: int
    by_status: dict[Status, int]
    tta: Stats
    ttr: Stats
    oldest_open: Timeline | None

    @property
    def open(self) -> int:
        return self.by_status.get(Status.OPEN, 0) + self.by_status.get(Status.ACKNOWLEDGED, 0)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks; `sorted_values` must be sorted."""
    if not sorted_values:
        raise ValueError("quantile of nothing")
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def stats(durations: Iterable[timedelta]) -> Stats:
    return stats_of_seconds(d.total_seconds() for d in durations)


def stats_of_seconds(values: Iterable[float]) -> Stats:
    seconds = sorted(values)
    if not seconds:
        return Stats(0, None, None, None)

    def td(s: float) -> timedelta:
        return timedelta(seconds=round(s, 3))

    return Stats(
        len(seconds),
        td(sum(seconds) / len(seconds)),
        td(quantile(seconds, 0.5)),
        td(quantile(seconds, 0.9)),
    )


def summarize(timelines: Iterable[Timeline]) -> Summary:
    items = list(timelines)
    by_status: dict[Status, int] = {}
    for t in items:
        by_status[t.status] = by_status.get(t.status, 0) + 1
    open_items = [t for t in items if t.status.is_open]
    return Summary(
        total=len(items),
        by_status=by_status,
        tta=stats(t.tta for t in items if t.tta is not None),
        ttr=stats(t.ttr for t in items if t.ttr is not None),
        oldest_open=min(open_items, key=lambda t: t.reported_at) if open_items else None,
    )


def summarize_seconds(
    rows: Iterable[tuple[Status, float | None, float | None]], oldest_open: Timeline | None
) -> Summary:
    """The same summary from (status, TTA seconds, TTR seconds) rows, as the database
    computes them for large scopes; TTR counts only for incidents fixed now."""
    by_status: dict[Status, int] = {}
    ttas: list[float] = []
    ttrs: list[float] = []
    for status, tta, ttr in rows:
        by_status[status] = by_status.get(status, 0) + 1
        if tta is not None:
            ttas.append(tta)
        if ttr is not None and status is Status.FIXED:
            ttrs.append(ttr)
    return Summary(
        sum(by_status.values()),
        by_status,
        stats_of_seconds(ttas),
        stats_of_seconds(ttrs),
        oldest_open,
    )
