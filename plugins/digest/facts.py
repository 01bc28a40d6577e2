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
