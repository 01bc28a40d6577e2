"""Change-failure figures: how often services change, how often a change is followed by
an incident of the changed service, and how fast those incidents are repaired. Pure, so
every rule is unit-tested with exact figures from scripted histories.

Definitions (also in README, "Change-failure figures"):
- a **change** is a deployment of a service (the `deployments` table). A deploy day
  during which no deployment was recorded counts as one change at its start: of its
  plan's service when it was started from a plan, otherwise of no service (a deploy
  day names none), which counts only in the overall figures;
- a change **fails** when an incident is blamed on it: an incident of a service is
  blamed on the latest change of that service made at most `window` before its report
  (so one incident fails one change); an incident no such change explains, reported
  during a deploy day that changed no named service, is blamed on that day's change when
  it falls in its window. Duplicates never count; won't-fix incidents do (the change
  still broke something);
- **change failure rate**: failed changes / changes, of the changes made in the period
  (an incident after the period's end, inside the window, still counts);
- **deployment frequency**: changes in the period per day and per week of its length;
- **time to restore**: the TTR (`stats`) of the incidents blamed on the period's changes
  that are fixed now: mean and median; those not fixed are counted as unrestored.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from plugins.incidents.lifecycle import Status
from plugins.metrics.stats import Stats, Timeline, stats

DAY = timedelta(days=1)
OVERALL = "all"  # the label of the figures over every change


@dataclass(frozen=True, slots=True)
class Change:
    """A deployment of `service`, or a deploy day's own change (`service` None when its
    day names no service); `deploy_id`: the deploy day it belongs to."""

    at: datetime
    service: str | None
    deploy_id: int | None = None


@dataclass(frozen=True, slots=True)
class Reported:
    """An incident as the figures see it: its times, and the deploy day it was reported in."""

    timeline: Timeline
    deploy_id: int | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    label: str  # a service, or OVERALL
    changes: int
    failed: int
    incidents: tuple[int, ...]  # the numbers blamed, in order
    restore: Stats  # TTR of those fixed now
    unrestored: int  # blamed and not fixed now

    @property
    def rate(self) -> float | None:
        """Failed changes / changes; None without changes."""
        return self.failed / self.changes if self.changes else None


@dataclass(frozen=True, slots=True)
class ChangeReport:
    since: datetime
    until: datetime
    window: timedelta
    overall: Figures
    services: list[Figures]  # busiest first, then by name

    @property
    def days(self) -> float:
        return max((self.until - self.since) / DAY, 0.0)

    def per_day(self, f: Figures) -> float:
        return f.changes / self.days if self.days else 0.0

    def per_week(self, f: Figures) -> float:
        return self.per_day(f) * 7

    @property
    def unnamed(self) -> int:
        """Changes of no service (deploy days that named none), counted only overall."""
        return self.overall.changes - sum(f.changes for f in self.services)

    def service(self, name: str) -> Figures | None:
        return next((f for f in self.services if f.label == name), None)


Blamed = tuple[int, timedelta | None]  # an incident's number and its TTR (None: not fixed)


def blame(
    changes: Sequence[Change], incidents: Iterable[Reported], window: timedelta
) -> dict[int, list[Blamed]]:
    """Each counted incident, by the position in `changes` of the change it is blamed on
    (see the module's rules). Only its number and TTR are kept, so `incidents` can stream
    from the database: a long period's are not all held at once."""
    order = sorted(range(len(changes)), key=lambda i: changes[i].at)
    by_service: dict[str, list[int]] = defaultdict(list)
    by_day: dict[int, int] = {}
    for i in order:
        c = changes[i]
        if c.service is not None:
            by_service[c.service].append(i)
        elif c.deploy_id is not None:
            by_day[c.deploy_id] = i
    times = {s: [changes[i].at for i in found] for s, found in by_service.items()}
    blamed: dict[int, list[Blamed]] = defaultdict(list)
    for item in incidents:
        t = item.timeline
        if t.status is Status.DUPLICATE:
            continue
        latest = bisect_right(times.get(t.service, []), t.reported_at) - 1
        culprit = by_service[t.service][latest] if latest >= 0 else None
        if culprit is not None and not _follows(changes[culprit], t, window):
            culprit = None
        if culprit is None and item.deploy_id is not None:
            day = by_day.get(item.deploy_id)
            culprit = day if day is not None and _follows(changes[day], t, window) else None
        if culprit is not None:
            blamed[culprit].append((t.number, t.ttr))
    return blamed


def _follows(change: Change, t: Timeline, window: timedelta) -> bool:
    return change.at <= t.reported_at < change.at + window


def change_report(
    changes: Sequence[Change],
    incidents: Iterable[Reported],
    since: datetime,
    until: datetime,
    window: timedelta,
) -> ChangeReport:
    """The figures of the changes made in [since, until); `changes` and `incidents` may
    reach a window beyond either end, so blame is the same as over the whole history."""
    blamed = blame(changes, incidents, window)
    counted = [i for i, c in enumerate(changes) if since <= c.at < until]
    groups: dict[str, list[int]] = defaultdict(list)
    for i in counted:
        service = changes[i].service
        if service is not None:
            groups[service].append(i)
    services = [_figures(name, group, blamed) for name, group in groups.items()]
    services.sort(key=lambda f: (-f.changes, f.label))
    return ChangeReport(since, until, window, _figures(OVERALL, counted, blamed), services)


def _figures(label: str, changes: list[int], blamed: dict[int, list[Blamed]]) -> Figures:
    """`changes`: positions of the changes to count."""
    failed = [i for i in changes if blamed.get(i)]
    incidents = sorted(b for i in failed for b in blamed[i])
    restored = [ttr for _, ttr in incidents if ttr is not None]
    return Figures(
        label,
        len(changes),
        len(failed),
        tuple(number for number, _ in incidents),
        stats(restored),
        len(incidents) - len(restored),
    )
