"""Exporting the incident log: incidents with their whole event timeline, streamed from
the database one batch at a time, so memory stays flat however long the log is.

Field names are stable (README, "Export"); times are ISO 8601 UTC; durations seconds.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol, TextIO

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from bot.commands import UserError
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.common.files import csv_cell, iso, md_cell, seconds
from plugins.common.when import parse_moment
from plugins.deploys.service import DeployService
from plugins.incidents.lifecycle import Status
from plugins.metrics.stats import Timeline
from plugins.models import Deploy, Incident, IncidentEvent

FORMATS = ("csv", "json", "jsonl", "md")
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
CSV_COLUMNS = (*INCIDENT_FIELDS, *(f"event_{f}" for f in EVENT_FIELDS))

Record = dict[str, Any]
Progress = Callable[[int], None]


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
        async with self._store.read() as s:
            return await s.scalar(self._where(select(func.count(Incident.id)), sel)) or 0

    async def records(self, sel: Selection, batch: int = 2000) -> AsyncIterator[Record]:
        """One record per incident, its events in time order, in incident number order.
        Rows stream from the database; only one incident's events are held at a time."""
        reporter, owner, actor, target = (aliased(Person) for _ in range(4))
        stmt = self._where(
            select(
                Incident.id,
                Incident.number,
                Incident.service,
                Incident.summary,
                Incident.severity,
                Incident.environment,
                Incident.status,
                Deploy.name.label("deploy"),
                reporter.name.label("reporter"),
                owner.name.label("owner"),
                Incident.duplicate_of,
                Incident.created_at,
                Incident.updated_at,
                Incident.source_network,
                Incident.source_room,
                IncidentEvent.at,
                IncidentEvent.kind,
                actor.name.label("actor"),
                IncidentEvent.detail,
                IncidentEvent.severity.label("event_severity"),
                target.name.label("target"),
                IncidentEvent.other_number,
                IncidentEvent.network,
                IncidentEvent.room,
            )
            .select_from(Incident)
            .join(reporter, reporter.id == Incident.reporter_id)
            .outerjoin(owner, owner.id == Incident.owner_id)
            .outerjoin(Deploy, Deploy.id == Incident.deploy_id)
            .outerjoin(IncidentEvent, IncidentEvent.incident_id == Incident.id)
            .outerjoin(actor, actor.id == IncidentEvent.actor_id)
            .outerjoin(target, target.id == IncidentEvent.target_id)
            .order_by(Incident.number, IncidentEvent.at, IncidentEvent.id),
            sel,
        ).execution_options(yield_per=batch)
        async with self._store.read() as s:
            result = await s.stream(stmt)
            current: Record | None = None
            current_id: int | None = None
            async for partition in result.partitions():
                for r in partition:
                    if r.id != current_id:
                        if current is not None:
                            yield _finish(current)
                        current_id = r.id
                        current = {
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
                    if r.kind is not None:
                        assert current is not None
                        current["events"].append(
                            {
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
                        )
            if current is not None:
                yield _finish(current)


def _export_service(api: PluginAPI) -> ExportService:
    return ExportService(api.store)


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


class Writer(Protocol):
    def begin(self) -> None: ...
    def write(self, rec: Record) -> None: ...
    def end(self) -> None: ...


class CsvWriter:
    """One row per event (an incident's columns repeat on each of its events)."""

    def __init__(self, out: TextIO) -> None:
        self._csv = csv.writer(out, lineterminator="\r\n")

    def begin(self) -> None:
        self._csv.writerow(CSV_COLUMNS)

    def write(self, rec: Record) -> None:
        head = [csv_cell(rec[f]) for f in INCIDENT_FIELDS]
        for e in rec["events"] or [dict.fromkeys(EVENT_FIELDS)]:
            self._csv.writerow([*head, *(csv_cell(e[f]) for f in EVENT_FIELDS)])

    def end(self) -> None:
        pass


class JsonWriter:
    """One JSON array of incident objects, each with its `events` array."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._first = True

    def begin(self) -> None:
        self._out.write("[")

    def write(self, rec: Record) -> None:
        self._out.write("\n" if self._first else ",\n")
        self._first = False
        self._out.write(json.dumps(rec, ensure_ascii=False))

    def end(self) -> None:
        self._out.write("\n]\n")


class JsonlWriter:
    """One incident object per line."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def begin(self) -> None:
        pass

    def write(self, rec: Record) -> None:
        self._out.write(json.dumps(rec, ensure_ascii=False))
        self._out.write("\n")

    def end(self) -> None:
        pass


class MarkdownWriter:
    """A section per incident: its fields as a list, then its events as a table."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def begin(self) -> None:
        self._out.write("# deployday incident export\n\nTimes are UTC.\n")

    def write(self, rec: Record) -> None:
        w = self._out.write
        w(f"\n## #{rec['number']} {md_cell(rec['service'])}: {md_cell(rec['summary'])}\n\n")
        for f in INCIDENT_FIELDS[3:]:
            w(f"- {f}: {md_cell(rec[f])}".rstrip() + "\n")
        w("\n| " + " | ".join(EVENT_FIELDS) + " |\n|" + "---|" * len(EVENT_FIELDS) + "\n")
        for e in rec["events"]:
            w("| " + " | ".join(md_cell(e[f]) for f in EVENT_FIELDS) + " |\n")

    def end(self) -> None:
        pass


WRITERS: dict[str, Callable[[TextIO], Writer]] = {
    "csv": CsvWriter,
    "json": JsonWriter,
    "jsonl": JsonlWriter,
    "md": MarkdownWriter,
}


async def write_export(
    service: ExportService,
    fmt: str,
    out: TextIO,
    sel: Selection,
    progress: Progress | None = None,
) -> Exported:
    """Stream the selection into `out` in format `fmt`."""
    writer = WRITERS[fmt](out)
    writer.begin()
    incidents = events = 0
    async for rec in service.records(sel):
        writer.write(rec)
        incidents += 1
        events += len(rec["events"])
        if progress is not None:
            progress(incidents)
    writer.end()
    return Exported(incidents, events)


class TerminalProgress:
    """`\\r`-redrawn progress on stderr, only when it is a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self._shown = -1

    @property
    def wanted(self) -> bool:
        return self.stream.isatty()

    def __call__(self, done: int) -> None:
        percent = done * 100 // self.total
        if percent != self._shown:
            self._shown = percent
            self.stream.write(f"\rexporting: {done}/{self.total} incidents ({percent}%)")
            self.stream.flush()

    def close(self) -> None:
        if self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
