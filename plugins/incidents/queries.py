"""The statements behind the incident transactions. Core, not ORM, on the hot paths:
rows instead of tracked objects, and one statement for each step of a command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from bot.store import Person
from plugins.incidents.lifecycle import Action, State, Status, times_after
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
# the incident to change, locked, with what the reply needs
LOCKED = VIEW.where(INCIDENTS.c.number == bindparam("number")).with_for_update(of=INCIDENTS)
# the change: SET takes every key of the parameters that names a column
_CHANGE = update(INCIDENTS).where(
    INCIDENTS.c.id == bindparam("b_id"), INCIDENTS.c.version == bindparam("b_version")
)
_ADD_EVENT = insert(EVENTS)
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
        "acknowledged_at": None,
        "fixed_at": None,
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
    at: datetime,
    severity: int | None,
    other: int | None,
) -> dict[str, Any]:
    """The incident's changeable columns after `action` (taken at `at`), its version
    counted up: always all of them, so one prepared UPDATE serves every action."""
    acknowledged_at, fixed_at = times_after(row.acknowledged_at, row.fixed_at, action, at)
    duplicate_of = row.duplicate_of
    if action is Action.DUPLICATE:
        duplicate_of = other
    elif action is Action.REOPEN:
        duplicate_of = None
    return {
        "status": after.status.value,
        "owner_id": after.owner_id,
        "updated_at": at,
        "version": row.version + 1,
        "severity": row.severity if severity is None else severity,
        "duplicate_of": duplicate_of,
        "acknowledged_at": acknowledged_at,
        "fixed_at": fixed_at,
    }


def save_change(
    conn: Connection, number: int, row: Row[Any], changes: dict[str, Any], event: dict[str, Any]
) -> None:
    """Change the incident, unless another instance did since it was read, and append the
    event, in the caller's transaction."""
    updated = conn.execute(_CHANGE, {**changes, "b_id": row.id, "b_version": row.version})
    if updated.rowcount != 1:
        raise StaleDataError(f"incident {number} changed concurrently")
    conn.execute(_ADD_EVENT, {**event, "incident_id": row.id})
