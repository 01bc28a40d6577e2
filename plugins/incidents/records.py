"""What the incident service answers with: plain, frozen values, never rows or mapped
objects, so they can leave a unit of work and its thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from bot.people import PersonRef
from plugins.incidents.lifecycle import Action, Status


@dataclass(frozen=True, slots=True)
class IncidentView:
    number: int
    service: str
    summary: str
    severity: int
    status: Status
    reporter: PersonRef
    owner: PersonRef | None
    created_at: datetime
    updated_at: datetime
    deploy: str | None
    duplicate_of: int | None
    environment: str | None = None
    consumer: str | None = None
    consumer_known: bool | None = None  # None: no consumer was named
    staging_mixup: bool = False


class EventView(NamedTuple):
    """One event of an incident's timeline (a tuple: a busy deploy's digest makes tens of
    thousands of them)."""

    at: datetime
    actor: str | None
    kind: Action
    detail: str | None
    severity: int | None
    target: str | None
    other_number: int | None
    network: str | None


@dataclass(frozen=True, slots=True)
class Change:
    incident: IncidentView
    first_response: bool  # this action ended the time-to-acknowledge clock


@dataclass(frozen=True, slots=True)
class Page:
    incidents: list[IncidentView]
    total: int


def as_view(
    i: Any, reporter_name: str, owner_name: str | None, deploy_name: str | None
) -> IncidentView:
    """From anything with the incident's columns as attributes (a row, a model)."""
    return IncidentView(
        i.number,
        i.service,
        i.summary,
        i.severity,
        Status(i.status),
        PersonRef(i.reporter_id, reporter_name),
        PersonRef(i.owner_id, owner_name) if i.owner_id is not None else None,
        i.created_at,
        i.updated_at,
        deploy_name,
        i.duplicate_of,
        i.environment,
        i.consumer,
        i.consumer_known,
        i.staging_mixup,
    )
