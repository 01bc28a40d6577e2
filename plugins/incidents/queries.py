"""The statements behind the incident transactions. Core, not ORM, on the hot paths:
rows instead of tracked objects, and one statement for each step of a command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from bot.store import Person
from plugins.incidents.lifecycle import RESPONSES, Action, State
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
# the deploy a new report belongs to, and its environment for the judges
ACTIVE_DEPLOY = select(Deploy.id, Deploy.environment, Deploy.name).where(Deploy.status == "active")


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


async def save_change(
    s: AsyncSession, number: int, row: Row[Any], changes: dict[str, Any], event: dict[str, Any]
) -> None:
    """Change the incident, unless another instance did since it was read, and append the
    event, in the caller's transaction."""
    updated = await s.execute(
        update(INCIDENTS)
        .where(INCIDENTS.c.id == row.id, INCIDENTS.c.version == row.version)
        .values(changes)
    )
    if updated.rowcount != 1:
        raise StaleDataError(f"incident {number} changed concurrently")
    await s.execute(insert(EVENTS).values(incident_id=row.id, **event))
