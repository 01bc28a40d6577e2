"""MTTA / MTTR from the event log, for a deploy, a day or a service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import aliased

from bot.store import Person, Store
from bot.store.types import UTCDateTime
from plugins.lifecycle import RESPONSES, Action, Status
from plugins.models import Incident, IncidentEvent
from plugins.stats import Summary, Timeline, summarize


@dataclass(frozen=True, slots=True)
class Scope:
    """Which incidents to measure; every given condition applies."""

    label: str
    deploy_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None


class MetricsService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def timelines(self, scope: Scope) -> list[Timeline]:
        ev = aliased(IncidentEvent)
        first_response = (
            select(type_coerce(func.min(ev.at), UTCDateTime()))
            .where(ev.incident_id == Incident.id, ev.kind.in_([a.value for a in RESPONSES]))
            .scalar_subquery()
        )
        last_fix = (
            select(type_coerce(func.max(ev.at), UTCDateTime()))
            .where(ev.incident_id == Incident.id, ev.kind == Action.FIX.value)
            .scalar_subquery()
        )
        stmt = (
            select(
                Incident.number,
                Incident.service,
                Incident.status,
                Incident.created_at,
                first_response.label("first_response"),
                last_fix.label("last_fix"),
                Person.name.label("owner"),
            )
            .outerjoin(Person, Person.id == Incident.owner_id)
            .order_by(Incident.number)
        )
        if scope.deploy_id is not None:
            stmt = stmt.where(Incident.deploy_id == scope.deploy_id)
        if scope.since is not None:
            stmt = stmt.where(Incident.created_at >= scope.since)
        if scope.until is not None:
            stmt = stmt.where(Incident.created_at < scope.until)
        if scope.service is not None:
            stmt = stmt.where(Incident.service == scope.service)
        async with self._store.read() as s:
            rows = (await s.execute(stmt)).all()
        return [
            Timeline(
                r.number,
                r.service,
                Status(r.status),
                r.created_at,
                r.first_response,
                r.last_fix,
                r.owner,
            )
            for r in rows
        ]

    async def summary(self, scope: Scope) -> Summary:
        return summarize(await self.timelines(scope))
