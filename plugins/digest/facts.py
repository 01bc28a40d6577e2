"""What the digest service reads for one deploy, as plain rows: the input of
`figures.build`, so every figure is unit-tested from rows made by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from plugins.incidents.lifecycle import Status
from plugins.incidents.service import EventView


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """One incident's row as the service read it."""

    id: int
    number: int
    service: str
    summary: str
    severity: int
    environment: str | None
    status: Status
    owner_id: int | None
    owner: str | None
    reported_at: datetime
    consumer: str | None = None
    consumer_known: bool | None = None
    staging_mixup: bool = False
    duplicate_of: int | None = None  # the original's number while it is a duplicate


@dataclass(frozen=True, slots=True)
class ResponderFacts:
    label: str
    person_id: int | None
    team: str | None
    reminded_at: datetime | None


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What the deploy's plan and the catalogue add to the digest."""

    planned_for: datetime | None = None
    responders: Sequence[ResponderFacts] = ()
    # consumers recorded in the catalogue since: (service, consumer) -> who added it
    added: Mapping[tuple[str, str], str] = field(default_factory=dict)


class EventFacts(NamedTuple):
    incident_id: int
    actor_id: int | None
    target_id: int | None
    view: EventView


@dataclass(frozen=True, slots=True)
class ShiftFacts:
    person_id: int
    name: str
    team: str
    on_at: datetime
    off_at: datetime | None


@dataclass(frozen=True, slots=True)
class PageFacts:
    """A `!page` sent while the deploy was under way."""

    at: datetime
    by: str
    target: str
    message: str | None


@dataclass(frozen=True, slots=True)
class ReminderFacts:
    """A reminder the bot sent about one of the deploy's incidents, or (`incident_id`
    None) its notice that nobody was on duty to remind."""

    at: datetime
    incident_id: int | None
    kind: str


@dataclass(frozen=True, slots=True)
class SidelineFacts:
    """What happened around the incidents, for the timeline: pages and reminders (the
    check-ins and check-outs are the shifts)."""

    pages: Sequence[PageFacts] = ()
    reminders: Sequence[ReminderFacts] = ()
