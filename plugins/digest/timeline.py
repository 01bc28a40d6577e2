"""The digest's timeline: the deploy's start and end, its incidents' events (alerts'
included: the intake records them as incident events), pages, reminders, check-ins and
check-outs, merged in time order. Pure, so the order is unit-tested from rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from operator import itemgetter
from typing import NamedTuple

from plugins.deploys.service import DeployView
from plugins.digest.facts import EventFacts, IncidentFacts, ShiftFacts, SidelineFacts
from plugins.incidents.service import EventView


class Beside(StrEnum):
    """What happened beside the incident log."""

    PAGE = "page"
    CHECKIN = "checkin"
    CHECKOUT = "checkout"
    REMINDER = "reminder"


class Happening(NamedTuple):
    kind: Beside
    who: str | None  # who paged, checked in or out
    detail: str | None  # whom a page was for (and why), a shift's team, a reminder's kind


class TimelineEntry(NamedTuple):
    at: datetime
    number: int | None  # None for the deploy's own start and end, pages and shifts
    service: str | None
    event: EventView | None
    happening: Happening | None = None


def timeline(
    deploy: DeployView,
    events: Sequence[EventFacts],
    incidents: Mapping[int, IncidentFacts],
    shifts: Sequence[ShiftFacts],
    sideline: SidelineFacts,
    end: datetime,
) -> list[TimelineEntry]:
    """Everything from the deploy's start to `end`, in time order; at the same time, the
    start first and the end last."""
    start = deploy.started_at
    inside = [
        *(
            TimelineEntry(
                e.view.at, incidents[e.incident_id].number, incidents[e.incident_id].service, e.view
            )
            for e in events
        ),
        *_pages(sideline, start, end),
        *_reminders(sideline, incidents, start, end),
        *_shifts(shifts, start, end),
    ]
    inside.sort(key=_AT)  # stable: incident events keep their log order
    closing = [TimelineEntry(deploy.ended_at, None, None, None)] if deploy.ended_at else []
    return [TimelineEntry(start, None, None, None), *inside, *closing]


_AT = itemgetter(0)  # TimelineEntry.at, without a Python call per entry


def _pages(sideline: SidelineFacts, start: datetime, end: datetime) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            p.at,
            None,
            None,
            None,
            Happening(Beside.PAGE, p.by, p.target + (f": {p.message}" if p.message else "")),
        )
        for p in sideline.pages
        if start <= p.at <= end
    ]


def _reminders(
    sideline: SidelineFacts,
    incidents: Mapping[int, IncidentFacts],
    start: datetime,
    end: datetime,
) -> list[TimelineEntry]:
    entries = []
    for r in sideline.reminders:
        about = incidents.get(r.incident_id) if r.incident_id is not None else None
        if start <= r.at <= end and (about is not None or r.incident_id is None):
            number, service = (about.number, about.service) if about else (None, None)
            happening = Happening(Beside.REMINDER, None, r.kind)
            entries.append(TimelineEntry(r.at, number, service, None, happening))
    return entries


def _shifts(shifts: Sequence[ShiftFacts], start: datetime, end: datetime) -> list[TimelineEntry]:
    entries = []
    for sh in shifts:
        if start <= sh.on_at <= end:
            happening = Happening(Beside.CHECKIN, sh.name, sh.team)
            entries.append(TimelineEntry(sh.on_at, None, None, None, happening))
        if sh.off_at is not None and start <= sh.off_at <= end:
            happening = Happening(Beside.CHECKOUT, sh.name, sh.team)
            entries.append(TimelineEntry(sh.off_at, None, None, None, happening))
    return entries
