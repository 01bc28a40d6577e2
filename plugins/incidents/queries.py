"""The statements behind the incident transactions. Core, not ORM, on the hot paths:
rows instead of tracked objects, and one statement for each step of a command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, exists, insert, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from bot.store import Person
from plugins.incidents.lifecycle import RESPONSES, Action, State, Status
from plugins.models import Deploy, Incident, IncidentEvent

INCIDENTS = Incident.__table__
EVENTS = IncidentEvent.__table__
_REPORTER, _OWNER = aliased(Person), aliased(Person)
# an incident with the names its views show, in one statement
VIEW = (
    select(
        INCIDENTS,
        _REPORTER.name.label("reporter_name"),
        _OWNER.name.label("owner_name"),
        Deploy.name.label("deploy_name"),
    )
    .join(_REPORTER, _REPORTER.id == INCIDENTS.c.reporter_id)
    .outerjoin(_OWNER, _OWNER.id == INCIDENTS.c.owner_id)
    .outerjoin(Deploy, Deploy.id == INCIDENTS.c.deploy_id)
)
# the incident to change, locked, and whether anyone responded yet (lifecycle.RESPONSES)
LOCKED = (
    VIEW.add_columns(
        exists()
        .where(
            EVENTS.c.incident_id == INCIDENTS.c.id,
            EVENTS.c.kind.in_([a.value for a in RESPONSES]),
        )
        .label("responded")
    )
    .where(INCIDENTS.c.number == bindparam("number"))
    .with_for_update(of=INCIDENTS)
)
_ACTOR, _TARGET = aliased(Person), aliased(Person)
# one incident's events in order, with the names of who acted and on whom
TIMELINE = (
    select(EVENTS, _ACTOR.name.label("actor"), _TARGET.name.label("target"))
    .outerjoin(_ACTOR, _ACTOR.id == EVENTS.c.actor_id)
    .outerjoin(_TARGET, _TARGET.id == EVENTS.c.target_id)
    .where(EVENTS.c.incident_id == bindparam("incident_id"))
    .order_by(EVENTS.c.at, EVENTS.c.id)
)
# the deploy a new report belongs to, and its environment for the judges
ACTIVE_DEPLOY = select(Deploy.id, Deploy.environment, Deploy.name).where(Deploy.status == "active")


def report_rows(
    service: str,
    summary: str,
    severity: int,
    reporter_id: int,
    network: str,
    room: str,
    now: datetime,
    environment: str | None,
    consumer: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new incident's columns (but its number, deploy and flags) and its report event."""
    incident = {
        "deploy_id": None,
        "service": service,
        "environment": environment,
        "consumer": consumer,
        "summary": summary,
        "severity": severity,
        "status": Status.OPEN.value,
        "reporter_id": reporter_id,
        "owner_id": None,
        "duplicate_of": None,
        "created_at": now,
        "updated_at": now,
        "source_network": network,
        "source_room": room,
        "version": 1,
    }
    event = {
        "at": now,
        "actor_id": reporter_id,
        "kind": Action.REPORT.value,
        "detail": summary,
        "severity": severity,
        "network": network,
        "room": room,
    }
    return incident, event


def changed_columns(
    row: Row[Any],
    after: State,
    action: Action,
    now: datetime,
    severity: int | None,
    other: int | None,
) -> dict[str, Any]:
    """The incident's columns that `action` changes, its version counted up."""
    changes: dict[str, Any] = {
        "status": after.status.value,
        "owner_id": after.owner_id,
        "updated_at": now,
        "version": row.version + 1,
    }
    if severity is not None:
        changes["severity"] = severity
    if action is Action.DUPLICATE:
        changes["duplicate_of"] = other
    elif action is Action.REOPEN:
        changes["duplicate_of"] = None
    return changes


def save_change(
    conn: Connection, number: int, row: Row[Any], changes: dict[str, Any], event: dict[str, Any]
) -> None:
    """Change the incident, unless another instance did since it was read, and append the
    event, in the caller's transaction."""
    updated = conn.execute(
        update(INCIDENTS)
        .where(INCIDENTS.c.id == row.id, INCIDENTS.c.version == row.version)
        .values(changes)
    )
    if updated.rowcount != 1:
        raise StaleDataError(f"incident {number} changed concurrently")
    conn.execute(insert(EVENTS), {**event, "incident_id": row.id})
