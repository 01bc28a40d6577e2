"""Exporting the incident log: which incidents, and each one's record with its whole
event timeline, streamed from the database one batch at a time, so memory stays flat
however long the log is (`writers` turns the records into files).

Field names are stable (README, "Export"); times are ISO 8601 UTC; durations seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select
from sqlalchemy.orm import aliased

from bot.commands import UserError
from bot.plugin import PluginAPI
from bot.store import Person, Store
from bot.store.sql import iso_utc
from plugins.common.files import seconds
from plugins.common.when import parse_moment
from plugins.deploys.service import DeployService
from plugins.metrics.change_reads import first_change, reading_changes
from plugins.metrics.changes import ChangeReport
from plugins.metrics.service import REPAIRED_AT, TTA_SECONDS, TTR_SECONDS
from plugins.models import Deploy, Incident, IncidentEvent

INCIDENT_FIELDS = (
    "number",
    "service",
    "summary",
    "severity",
    "environment",
    "status",
    "deploy",
    "reporter",
    "owner",
    "duplicate_of",
    "reported_at",
    "acknowledged_at",
    "fixed_at",
    "tta_seconds",
    "ttr_seconds",
    "updated_at",
    "source_network",
    "source_room",
)
EVENT_FIELDS = (
    "at",
    "kind",
    "actor",
    "detail",
    "severity",
    "target",
    "other_number",
    "network",
    "room",
)

IncidentRow = tuple[Any, ...]  # INCIDENT_FIELDS' values
EventRow = tuple[Any, ...]  # EVENT_FIELDS' values
Batch = list[tuple[IncidentRow, list[EventRow]]]  # incidents, each with its events


@dataclass(frozen=True, slots=True)
class Selection:
    """Which incidents: reported in the deploy and/or in [since, until)."""

    deploy_id: int | None = None
    deploy_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def describe(self, tz: tzinfo) -> str:
        parts = [f"in deploy {self.deploy_name}"] if self.deploy_name else []
        if self.since:
            parts.append(f"since {self.since.astimezone(tz):%Y-%m-%d %H:%M %Z}")
        if self.until:
            parts.append(f"before {self.until.astimezone(tz):%Y-%m-%d %H:%M %Z}")
        return " ".join(parts) or "at all"


@dataclass(frozen=True, slots=True)
class Exported:
    incidents: int
    events: int


async def select_incidents(
    deploys: DeployService,
    tz: tzinfo,
    *,
    deploy: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Selection:
    """Check what a person asked for; each problem is one UserError line."""
    start = parse_moment(since, tz, "--since") if since else None
    stop = parse_moment(until, tz, "--until", end=True) if until else None
    if start is not None and stop is not None and start >= stop:
        raise UserError(f"--since {since} is not before --until {until}; nothing could match")
    if deploy is None:
        return Selection(since=start, until=stop)
    found = await deploys.by_name(deploy.lower())
    if found is None:
        raise UserError(f"no deploy named {deploy[:40]!r}")
    return Selection(found.id, found.name, start, stop)


class ExportService:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def of(api: PluginAPI) -> ExportService:
        """The app's one ExportService."""
        return api.shared(_export_service)

    def _where(self, stmt: Select[Any], sel: Selection) -> Select[Any]:
        if sel.deploy_id is not None:
            stmt = stmt.where(Incident.deploy_id == sel.deploy_id)
        if sel.since is not None:
            stmt = stmt.where(Incident.created_at >= sel.since)
        if sel.until is not None:
            stmt = stmt.where(Incident.created_at < sel.until)
        return stmt

    async def count(self, sel: Selection) -> int:
        stmt = self._where(select(func.count(Incident.id)), sel)
        return await self._store.read(lambda c: c.scalar(stmt)) or 0

    async def change_failure(
        self, sel: Selection, window: timedelta, now: datetime
    ) -> ChangeReport:
        """Change-failure figures of the exported period: the deploy's run and/or [since,
        until), else all time (from the first change), up to now at the latest."""

        def unit(conn: Connection) -> ChangeReport:
            starts, ends = [sel.since], [sel.until, now]
            if sel.deploy_id is not None:
                run = select(Deploy.started_at, Deploy.ended_at).where(Deploy.id == sel.deploy_id)
                started, ended = conn.execute(run).one()
                starts.append(started)
                ends.append(ended)
            until = min(e for e in ends if e is not None)
            since = max((s for s in starts if s is not None), default=None)
            since = since or first_change(conn) or until
            return reading_changes(min(since, until), until, window)(conn)

        return await self._store.read(unit)

    async def each(self, sel: Selection, visit: Callable[[Batch], None], batch: int = 200) -> None:
        """Call `visit` with batches of incidents in number order, each with its events in
        time order, on a database thread (so `visit` may write a file but must not touch
        the event loop). Incidents and events stream from two queries read side by side,
        so an incident's columns are made once, not once per event, and only one batch of
        incidents with their events is held at a time."""
        incidents = self._where(_INCIDENTS, sel).execution_options(yield_per=batch)
        events = self._where(_EVENTS, sel).execution_options(yield_per=batch)

        def unit(conn: Connection) -> None:
            timelines = chain.from_iterable(conn.execute(events).partitions())
            event = next(timelines, None)
            for part in conn.execute(incidents).partitions():
                out: Batch = []
                for row in part:
                    timeline: list[EventRow] = []
                    while event is not None and event[0] == row[0]:
                        timeline.append(event[1:])
                        event = next(timelines, None)
                    out.append((_incident_values(row), timeline))
                visit(out)

        await self._store.read(unit)


def _export_service(api: PluginAPI) -> ExportService:
    return ExportService(api.store)


_REPORTER, _OWNER, _ACTOR, _TARGET = (aliased(Person) for _ in range(4))
# the incident's id, then its INCIDENT_FIELDS; times already ISO text and figures already
# seconds, so no row makes a datetime in Python
_INCIDENTS = (
    select(
        Incident.id,
        Incident.number,
        Incident.service,
        Incident.summary,
        Incident.severity,
        Incident.environment,
        Incident.status,
        Deploy.name,
        _REPORTER.name,
        _OWNER.name,
        Incident.duplicate_of,
        iso_utc(Incident.created_at),
        iso_utc(Incident.acknowledged_at),
        iso_utc(REPAIRED_AT),
        TTA_SECONDS,
        TTR_SECONDS,
        iso_utc(Incident.updated_at),
        Incident.source_network,
        Incident.source_room,
    )
    .select_from(Incident)
    .join(_REPORTER, _REPORTER.id == Incident.reporter_id)
    .outerjoin(_OWNER, _OWNER.id == Incident.owner_id)
    .outerjoin(Deploy, Deploy.id == Incident.deploy_id)
    .order_by(Incident.number)
)
# the incident's id, then the event's EVENT_FIELDS, in the incidents' order
_EVENTS = (
    select(
        Incident.id,
        iso_utc(IncidentEvent.at),
        IncidentEvent.kind,
        _ACTOR.name,
        IncidentEvent.detail,
        IncidentEvent.severity,
        _TARGET.name,
        IncidentEvent.other_number,
        IncidentEvent.network,
        IncidentEvent.room,
    )
    .select_from(Incident)
    .join(IncidentEvent, IncidentEvent.incident_id == Incident.id)
    .outerjoin(_ACTOR, _ACTOR.id == IncidentEvent.actor_id)
    .outerjoin(_TARGET, _TARGET.id == IncidentEvent.target_id)
    .order_by(Incident.number, IncidentEvent.at, IncidentEvent.id)
)
_TTA = INCIDENT_FIELDS.index("tta_seconds")


def _incident_values(row: Row[Any]) -> IncidentRow:
    values = row[1:]
    return (*values[:_TTA], seconds(values[_TTA]), seconds(values[_TTA + 1]), *values[_TTA + 2 :])
