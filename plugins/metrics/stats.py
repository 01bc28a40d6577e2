"""Time to acknowledge and time to repair: the one definition, and the arithmetic over
them; pure, so tested with exact figures.

Definitions (also in README):
- time to acknowledge (TTA): report → first response (an event of a kind in
  `lifecycle.RESPONSES`: ack, take, assign, fix, won't fix, duplicate), for incidents
  that got one;
- time to repair (TTR): report → the fix that stands (the last `fixed`, when the incident
  is fixed now; a reopened incident is open again and has no TTR until fixed again);
- median and p90 interpolate linearly between the closest ranks (numpy's default).

Python reads them from an incident's events (`Timeline.of_events`: the digest, exports);
each incident also keeps its first response and last fix as columns, updated in the
transaction that appends an event (`incidents.lifecycle.times_after`; a property test
recomputes them from the log), which the database turns into MTTA/MTTR for large scopes
(metrics.service).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from plugins.incidents.lifecycle import RESPONSES, Action, Status

RESPONSE_KINDS = tuple(a.value for a in RESPONSES)  # events that end the TTA clock
FIX_KIND = Action.FIX.value  # the events the TTR clock runs to (the last one)
Events = Iterable[tuple[str, datetime]]  # an incident's (kind, at) events


def first_response(events: Events) -> datetime | None:
    """When someone first responded to the incident, if anyone did."""
    return min((at for kind, at in events if kind in RESPONSE_KINDS), default=None)


def last_fix(events: Events) -> datetime | None:
    return max((at for kind, at in events if kind == FIX_KIND), default=None)


def repaired(status: Status) -> bool:
    """Whether a fix stands: only while the incident is fixed (reopened, it is not)."""
    return status is Status.FIXED


@dataclass(frozen=True, slots=True)
class Timeline:
    number: int
    service: str
    status: Status
    reported_at: datetime
    first_response_at: datetime | None
    last_fix_at: datetime | None
    owner: str | None = None

    @classmethod
    def of_events(
        cls,
        number: int,
        service: str,
        status: Status,
        reported_at: datetime,
        events: Events,
        owner: str | None = None,
    ) -> Timeline:
        seen = list(events)
        return cls(
            number, service, status, reported_at, first_response(seen), last_fix(seen), owner
        )

    @property
    def fixed_at(self) -> datetime | None:
        """The fix that stands, if one does."""
        return self.last_fix_at if repaired(self.status) else None

    @property
    def tta(self) -> timedelta | None:
        return None if self.first_response_at is None else self.first_response_at - self.reported_at

    @property
    def ttr(self) -> timedelta | None:
        return None if self.fixed_at is None else self.fixed_at - self.reported_at


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
    duplicates: int = 0  # closed as duplicates: counted apart, in no other figure

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
    """The figures of `timelines`; duplicates count in none of them (the report of the same
    breakage twice is one incident), only in `duplicates`."""
    everything = list(timelines)
    items = [t for t in everything if t.status is not Status.DUPLICATE]
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
        duplicates=len(everything) - len(items),
    )


def summarize_seconds(
    rows: Iterable[tuple[Status, float | None, float | None]], oldest_open: Timeline | None
) -> Summary:
    """The same summary from (status, TTA seconds, TTR seconds) rows, as the database
    computes them for large scopes; TTR counts only for incidents fixed now."""
    by_status: dict[Status, int] = {}
    ttas: list[float] = []
    ttrs: list[float] = []
    duplicates = 0
    for status, tta, ttr in rows:
        if status is Status.DUPLICATE:
            duplicates += 1
            continue
        by_status[status] = by_status.get(status, 0) + 1
        if tta is not None:
            ttas.append(tta)
        if ttr is not None and repaired(status):
            ttrs.append(ttr)
    return Summary(
        sum(by_status.values()),
        by_status,
        stats_of_seconds(ttas),
        stats_of_seconds(ttrs),
        oldest_open,
        duplicates,
    )
