"""MTTA / MTTR from the event log, for a deploy, a day or a service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select

from bot.plugin import PluginAPI
from bot.store import Person, Store
from bot.store.sql import seconds_between
from plugins.incidents.lifecycle import Status
from plugins.metrics.change_reads import reading_changes
from plugins.metrics.changes import ChangeReport
from plugins.metrics.stats import (
    Summary,
    Timeline,
    summarize_seconds,
)
from plugins.models import Deploy, Incident


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

    @staticmethod
    def of(api: PluginAPI) -> MetricsService:
        """The app's one MetricsService."""
        return api.shared(_metrics_service)

    async def deploy_scope(self, name: str | None = None) -> Scope | None:
        """The incidents of the deploy named `name` (the most recent of that name), or
        without a name of the deploy under way; None if there is no such deploy. Read
        from the deploys table, so metrics need not know the deploys feature."""
        stmt = select(Deploy.id, Deploy.name)
        if name is None:
            stmt = stmt.where(Deploy.status == "active")
        else:
            stmt = stmt.where(Deploy.name == name).order_by(Deploy.started_at.desc()).limit(1)
        row = await self._store.read(lambda c: c.execute(stmt).first())
        return None if row is None else Scope(f"deploy {row.name}", deploy_id=row.id)

    async def open_by_severity(self) -> dict[int, int]:
        """Incidents open now, by severity (every severity, zero included)."""
        stmt = (
            select(Incident.severity, func.count())
            .where(Incident.status.in_([Status.OPEN.value, Status.ACKNOWLEDGED.value]))
            .group_by(Incident.severity)
        )
        rows = await self._store.read(lambda c: c.execute(stmt).all())
        return {severity: 0 for severity in range(1, 5)} | {s: n for s, n in rows}

    async def timelines(self, scope: Scope) -> list[Timeline]:
        """Each incident's times, for reports that list them (the digest)."""
        stmt = (
            select(
                Incident.number,
                Incident.service,
                Incident.status,
                Incident.created_at,
                Incident.acknowledged_at,
                Incident.fixed_at,
                Person.name.label("owner"),
            )
            .outerjoin(Person, Person.id == Incident.owner_id)
            .order_by(Incident.number)
        )
        scoped = _scoped(stmt, scope)
        rows = await self._store.read(lambda c: c.execute(scoped).all())
        return [
            Timeline(
                r.number,
                r.service,
                Status(r.status),
                r.created_at,
                r.acknowledged_at,
                r.fixed_at,
                r.owner,
            )
            for r in rows
        ]

    async def changes(
        self, since: datetime, until: datetime, window: timedelta, service: str | None = None
    ) -> ChangeReport:
        """Change-failure figures of [since, until) (`changes` defines them), one read."""
        return await self._store.read(reading_changes(since, until, window, service))

    async def summary(self, scope: Scope) -> Summary:
        """MTTA/MTTR of a scope. The database works out each incident's TTA and TTR in
        seconds from the first-response and last-fix times kept with the incident, so a
        large deploy costs no datetime or object per incident in Python."""
        per_incident = select(Incident.status, TTA_SECONDS, TTR_SECONDS)
        oldest = (
            select(
                Incident.number,
                Incident.service,
                Incident.status,
                Incident.created_at,
                Person.name.label("owner"),
            )
            .outerjoin(Person, Person.id == Incident.owner_id)
            .where(Incident.status.in_([Status.OPEN.value, Status.ACKNOWLEDGED.value]))
            .order_by(Incident.created_at, Incident.number)
            .limit(1)
        )
        rows_stmt, oldest_stmt = _scoped(per_incident, scope), _scoped(oldest, scope)
        rows, first_open = await self._store.read(
            lambda c: (c.execute(rows_stmt).all(), c.execute(oldest_stmt).first())
        )
        oldest_open = None
        if first_open is not None:
            oldest_open = Timeline(
                first_open.number,
                first_open.service,
                Status(first_open.status),
                first_open.created_at,
                None,
                None,
                first_open.owner,
            )
        return summarize_seconds(((Status(st), tta, ttr) for st, tta, ttr in rows), oldest_open)


# stats' TTA and TTR of each incident, as the database works them out from the first
# response and last fix kept with the incident (NULL where there is none)
TTA_SECONDS = seconds_between(Incident.created_at, Incident.acknowledged_at)
REPAIRED_AT = case((Incident.status == Status.FIXED.value, Incident.fixed_at))
TTR_SECONDS = seconds_between(Incident.created_at, REPAIRED_AT)


def _metrics_service(api: PluginAPI) -> MetricsService:
    return MetricsService(api.store)


def _scoped(stmt: Select[Any], scope: Scope) -> Select[Any]:
    if scope.deploy_id is not None:
        stmt = stmt.where(Incident.deploy_id == scope.deploy_id)
    if scope.since is not None:
        stmt = stmt.where(Incident.created_at >= scope.since)
    if scope.until is not None:
        stmt = stmt.where(Incident.created_at < scope.until)
    if scope.service is not None:
        stmt = stmt.where(Incident.service == scope.service)
    return stmt
