"""Exporting the incident log: which incidents, and each one's record with its whole
event timeline, streamed from the database one batch at a time, so memory stays flat
however long the log is (`writers` turns the records into files).

Field names are stable (README, "Export"); times are ISO 8601 UTC; durations seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select
from sqlalchemy.orm import aliased

from bot.commands import UserError
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.common.files import iso, seconds
from plugins.common.when import parse_moment
from plugins.deploys.service import DeployService
from plugins.incidents.lifecycle import Status
from plugins.metrics.stats import Timeline
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

Record = dict[str, Any]


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
            parts.append(f"since {self.since.astimezone(tz):%Y-%m-%d %H:%M}")
        if self.until:
            parts.append(f"before {self.until.astimezone(tz):%Y-%m-%d %H:%M}")
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

    async def each(
        self, sel: Selection, visit: Callable[[Record], None], batch: int = 2000
    ) -> None:
        """Call `visit` with one record per incident, its events in time order, in incident
        number order, on a database thread (so `visit` may write a file but must not touch
        the event loop). Rows stream from the database; only one incident's events are held
        at a time."""
        stmt = self._where(_ROWS, sel).execution_options(yield_per=batch)

        def unit(conn: Connection) -> None:
            current: Record | None = None
            current_id: int | None = None
            for r in conn.execute(stmt):
                if r.id != current_id:
                    if current is not None:
                        visit(_finish(current))
                    current_id, current = r.id, _incident_record(r)
                if r.kind is not None:
                    assert current is not None
                    current["events"].append(_event_record(r))
            if current is not None:
                visit(_finish(current))

        await self._store.read(unit)


def _export_service(api: PluginAPI) -> ExportService:
    return ExportService(api.store)


_REPORTER, _OWNER, _ACTOR, _TARGET = (aliased(Person) for _ in range(4))
# one row per event (one with empty event columns for an incident without events)
_ROWS = (
    select(
        Incident.id,
        Incident.number,
        Incident.service,
        Incident.summary,
        Incident.severity,
        Incident.environment,
        Incident.status,
        Deploy.name.label("deploy"),
        _REPORTER.name.label("reporter"),
        _OWNER.name.label("owner"),
        Incident.duplicate_of,
        Incident.created_at,
        Incident.updated_at,
        Incident.source_network,
        Incident.source_room,
        IncidentEvent.at,
        IncidentEvent.kind,
        _ACTOR.name.label("actor"),
        IncidentEvent.detail,
        IncidentEvent.severity.label("event_severity"),
        _TARGET.name.label("target"),
        IncidentEvent.other_number,
        IncidentEvent.network,
        IncidentEvent.room,
    )
    .select_from(Incident)
    .join(_REPORTER, _REPORTER.id == Incident.reporter_id)
    .outerjoin(_OWNER, _OWNER.id == Incident.owner_id)
    .outerjoin(Deploy, Deploy.id == Incident.deploy_id)
    .outerjoin(IncidentEvent, IncidentEvent.incident_id == Incident.id)
    .outerjoin(_ACTOR, _ACTOR.id == IncidentEvent.actor_id)
    .outerjoin(_TARGET, _TARGET.id == IncidentEvent.target_id)
    .order_by(Incident.number, IncidentEvent.at, IncidentEvent.id)
)


def _incident_record(r: Row[Any]) -> Record:
    return {
        "number": r.number,
        "service": r.service,
        "summary": r.summary,
        "severity": r.severity,
        "environment": r.environment,
        "status": r.status,
        "deploy": r.deploy,
        "reporter": r.reporter,
        "owner": r.owner,
        "duplicate_of": r.duplicate_of,
        "reported_at": r.created_at,
        "updated_at": iso(r.updated_at),
        "source_network": r.source_network,
        "source_room": r.source_room,
        "events": [],
    }


def _event_record(r: Row[Any]) -> Record:
    return {
        "at": r.at,
        "kind": r.kind,
        "actor": r.actor,
        "detail": r.detail,
        "severity": r.event_severity,
        "target": r.target,
        "other_number": r.other_number,
        "network": r.network,
        "room": r.room,
    }


def _finish(rec: Record) -> Record:
    """Derive the figures from the events (metrics.stats defines them), then make every
    time an ISO string, in the documented field order."""
    events = rec["events"]
    t = Timeline.of_events(
        rec["number"],
        rec["service"],
        Status(rec["status"]),
        rec["reported_at"],
        ((e["kind"], e["at"]) for e in events),
    )
    for e in events:
        e["at"] = iso(e["at"])
    out = {f: rec.get(f) for f in INCIDENT_FIELDS}
    out.update(
        reported_at=iso(t.reported_at),
        acknowledged_at=iso(t.first_response_at),
        fixed_at=iso(t.fixed_at),
        tta_seconds=seconds(t.tta),
        ttr_seconds=seconds(t.ttr),
    )
    out["events"] = events
    return out
