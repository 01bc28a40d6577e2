"""When to nag about an incident: pure decisions over plain values, so every rule is
unit-tested with exact times. The service feeds it rows; the plugin posts what it picks.

An open incident gets at most one kind of reminder at a time:
- `stale`: someone owns it and nothing happened (no event) for `stale_after` — ping them;
- `idle`: acknowledged, nobody owns it, nothing happened for `idle_after` — flag it;
- `unowned`: nobody acknowledged or owns it `unowned_after` after the report — announce it
  with the people on duty.
A reminder repeats at most once per interval while its condition holds ("one per incident
per interval"), counted from the last one sent, which the database remembers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from plugins.incidents.lifecycle import Status


class Kind(StrEnum):
    UNOWNED = "unowned"
    IDLE = "idle"
    STALE = "stale"
    NOBODY = "nobody"  # the one line saying nobody is on duty to remind


@dataclass(frozen=True, slots=True)
class Intervals:
    """Minutes per severity (1 is worst)."""

    by_severity: Mapping[int, timedelta]

    def of(self, severity: int) -> timedelta:
        return self.by_severity[severity]


@dataclass(frozen=True, slots=True)
class Policy:
    unowned_after: Intervals
    idle_after: Intervals
    stale_after: Intervals
    nobody_every: timedelta

    def interval(self, kind: Kind, severity: int) -> timedelta:
        match kind:
            case Kind.UNOWNED:
                return self.unowned_after.of(severity)
            case Kind.IDLE:
                return self.idle_after.of(severity)
            case Kind.STALE:
                return self.stale_after.of(severity)
        return self.nobody_every


@dataclass(frozen=True, slots=True)
class OpenIncident:
    id: int
    number: int
    service: str
    severity: int
    summary: str
    status: Status
    owner_id: int | None
    owner: str | None
    reported_at: datetime
    last_activity: datetime
    last_sent: Mapping[Kind, datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Due:
    incident: OpenIncident
    kind: Kind
    waiting: timedelta  # how long the condition has held


def kind_of(incident: OpenIncident) -> Kind:
    if incident.owner_id is not None:
        return Kind.STALE
    if incident.status is Status.ACKNOWLEDGED:
        return Kind.IDLE
    return Kind.UNOWNED


def waiting(incident: OpenIncident, kind: Kind, now: datetime) -> timedelta:
    """Unowned counts from the report; idle and stale from the last thing that happened."""
    since = incident.reported_at if kind is Kind.UNOWNED else incident.last_activity
    return now - since


def due(incidents: Sequence[OpenIncident], policy: Policy, now: datetime) -> list[Due]:
    """The reminders to send now, worst severity first, then oldest incident first."""
    found = []
    for incident in incidents:
        if not incident.status.is_open:
            continue
        kind = kind_of(incident)
        interval = policy.interval(kind, incident.severity)
        held = waiting(incident, kind, now)
        if held < interval:
            continue
        last = incident.last_sent.get(kind)
        if last is not None and now - last < interval:
            continue
        found.append(Due(incident, kind, held))
    return sorted(found, key=lambda d: (d.incident.severity, d.incident.number))


def nobody_notice_due(last_sent: datetime | None, policy: Policy, now: datetime) -> bool:
    """When reminders are due but nobody is on duty: one line, then quiet for a while."""
    return last_sent is None or now - last_sent >= policy.nobody_every
