"""The digest as files: the full Markdown (for the digest directory and for mail) and the
JSON document. Pure functions of a `Digest`, so the same figures appear everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

from plugins.common.chat import clock_time, duration
from plugins.common.files import iso, md_cell, seconds
from plugins.digest.figures import Digest, Group, IncidentRow
from plugins.digest.policy_formats import policy_json as _policy_json
from plugins.digest.policy_formats import policy_sections as _policy_sections
from plugins.digest.tables import row as _row
from plugins.digest.tables import section as _section
from plugins.digest.tables import table as _table
from plugins.digest.timeline import TimelineEntry
from plugins.digest.views import timeline_text
from plugins.metrics.change_views import change_json, change_section
from plugins.metrics.stats import Stats

FIGURES = (
    *("scope", "incidents"),
    *("TTA n", "MTTA", "TTA median", "TTA p90"),
    *("TTR n", "MTTR", "TTR median", "TTR p90"),
)
INCIDENTS = (
    "#",
    "service",
    "sev",
    "environment",
    "owner",
    "team",
    "status",
    "TTA",
    "TTR",
    "summary",
    "resolution",
)


_MINUTE = timedelta(minutes=1)


def markdown(d: Digest, tz: tzinfo) -> str:
    """The full digest, for mail and wherever it is wanted whole."""
    return "".join(markdown_lines(d, tz))


def markdown_lines(d: Digest, tz: tzinfo) -> Iterator[str]:
    """The full digest line by line, each with its newline: a busy deploy's is megabytes
    of text (held as two bytes a character, for its dashes), so the digest directory
    gets it written as it is made."""
    for section in (
        _header(d, tz),
        _figures(d),
        change_section(d.change_failure, tz),
        _incidents(d),
        _still_open(d),
        _helpers(d),
        _services(d),
        _policy_sections(d, tz),
        _followups(d, tz),
        ["## Timeline", ""],
        _timeline(d, tz),
    ):
        for line in section:
            yield line + "\n"


def _timeline(d: Digest, tz: tzinfo) -> Iterator[str]:
    """One line per event; a busy deploy has tens of thousands, in time order, so each
    minute's clock time is worked out once, when the first event of it comes."""
    start = d.deploy.started_at
    shown, minute, minute_end = "", start, start  # an empty minute: the first event's own
    for e in d.timeline:
        if not minute <= e.at < minute_end:
            minute = e.at.replace(second=0, microsecond=0)
            shown, minute_end = clock_time(minute, tz, start), minute + _MINUTE
        yield f"- {shown} {md_cell(timeline_text(d, e))}"


def _local(when: datetime, tz: tzinfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _header(d: Digest, tz: tzinfo) -> list[str]:
    dep = d.deploy
    lines = [f"# Deploy digest: {md_cell(dep.name)}", ""]
    lines.append(f"- **API break**: {'yes' if dep.api_break else 'no'}")
    if dep.description:
        lines.append(f"- **Description**: {md_cell(dep.description)}")
    if d.planned_for is not None:
        lines.append(f"- **Planned for**: {_local(d.planned_for, tz)}")
    lines.append(f"- **Started**: {_local(dep.started_at, tz)} by {md_cell(dep.started_by)}")
    if dep.ended_at is not None:
        took = duration(dep.ended_at - dep.started_at)
        lines.append(f"- **Ended**: {_local(dep.ended_at, tz)} ({took})")
    else:
        lines.append(f"- **Ended**: still under way at {_local(d.as_of, tz)}")
    lines.append(f"- **Lead**: {md_cell(dep.lead.name) if dep.lead else 'none'}")
    dups = f"; {d.duplicates} duplicate{'s' if d.duplicates != 1 else ''} not counted"
    lines.append(
        f"- **Incidents**: {d.summary.total} ({len(d.still_open)} still open"
        f"{dups if d.duplicates else ''}); times in {tz}; digest written {_local(d.as_of, tz)}"
    )
    return [*lines, ""]


def _stats_cells(s: Stats) -> tuple[object, ...]:
    return (s.count, duration(s.mean), duration(s.median), duration(s.p90))


def _group_row(label: str, g: Group) -> str:
    return _row(label, g.incidents, *_stats_cells(g.tta), *_stats_cells(g.ttr))


def _figures(d: Digest) -> list[str]:
    overall = Group("overall", d.summary.total, d.summary.tta, d.summary.ttr)
    rows = [
        _group_row("overall", overall),
        *(_group_row(f"service {g.label}", g) for g in d.by_service),
        *(_group_row(f"team {g.label}", g) for g in d.by_team),
    ]
    return ["## Time to acknowledge and time to repair", "", *_table(FIGURES, rows)]


def _owner(r: IncidentRow) -> str:
    return r.owner or "—"


def _incidents(d: Digest) -> list[str]:
    rows = [
        _row(
            f"#{r.number}" if r.duplicate_of is None else f"↳ #{r.number}",
            r.service,
            r.severity,
            r.environment or "—",
            _owner(r),
            r.team,
            r.status.label,
            duration(r.tta),
            duration(r.ttr),
            r.summary,
            r.resolution,
        )
        for r in d.incidents
    ]
    return _section("Incidents", INCIDENTS, rows, "No incidents were reported.")


def _still_open(d: Digest) -> list[str]:
    header = ("#", "service", "sev", "owner", "status", "open for", "summary")
    rows = [
        _row(
            f"#{r.number}",
            r.service,
            r.severity,
            _owner(r),
            r.status.label,
            duration(r.age),
            r.summary,
        )
        for r in d.still_open
    ]
    return _section("Still open (carried over)", header, rows, "Nothing is carried over.")


def _helpers(d: Digest) -> list[str]:
    header = ("person", "teams", "on duty", "owned", "fixed")
    rows = [
        _row(h.name, ", ".join(h.teams) or "—", duration(h.on_duty), h.owned, h.fixed)
        for h in d.helpers
    ]
    return _section("Who helped", header, rows, "Nobody checked in.")


def _services(d: Digest) -> list[str]:
    header = ("service", "incidents", "still open", "worst severity", "total time to repair")
    rows = [
        _row(s.service, s.incidents, s.open, f"sev{s.worst_severity}", duration(s.repair_time))
        for s in d.services
    ]
    return _section("Services most affected", header, rows, "None.")


def _followups(d: Digest, tz: tzinfo) -> list[str]:
    start = d.deploy.started_at
    items = [
        f"- #{f.number} {md_cell(f.service)}: {md_cell(f.text)} "
        f"({md_cell(f.by or 'someone')}, {clock_time(f.at, tz, start)})"
        for f in d.followups
    ]
    return ["## Follow-ups", "", *(items or ["Nobody marked a follow-up."]), ""]


def as_json(d: Digest) -> dict[str, Any]:
    """The digest as one JSON document: times ISO 8601 UTC, durations in seconds."""
    dep = d.deploy
    return {
        "deploy": {
            "name": dep.name,
            "api_break": dep.api_break,
            "description": dep.description,
            "started_at": iso(dep.started_at),
            "ended_at": iso(dep.ended_at),
            "started_by": dep.started_by,
            "lead": dep.lead.name if dep.lead else None,
        },
        "as_of": iso(d.as_of),
        "overall": {
            "incidents": d.summary.total,
            "duplicates": d.duplicates,
            "by_status": {s.value: n for s, n in d.summary.by_status.items()},
            "tta": _stats_json(d.summary.tta),
            "ttr": _stats_json(d.summary.ttr),
        },
        "by_service": {g.label: _group_json(g) for g in d.by_service},
        "by_team": {g.label: _group_json(g) for g in d.by_team},
        "incidents": [_incident_json(r) for r in d.incidents],
        "still_open": [r.number for r in d.still_open],
        "helpers": [
            {
                "name": h.name,
                "teams": list(h.teams),
                "on_duty_seconds": seconds(h.on_duty),
                "owned": h.owned,
                "fixed": h.fixed,
            }
            for h in d.helpers
        ],
        "services": [
            {
                "service": s.service,
                "incidents": s.incidents,
                "open": s.open,
                "worst_severity": s.worst_severity,
                "repair_seconds": seconds(s.repair_time),
            }
            for s in d.services
        ],
        "followups": [
            {"number": f.number, "service": f.service, "text": f.text, "by": f.by, "at": iso(f.at)}
            for f in d.followups
        ],
        "timeline": _timeline_json(d),
        "planned_for": iso(d.planned_for),
        **_policy_json(d),
        "change_failure": None if d.change_failure is None else change_json(d.change_failure),
    }


def _stats_json(s: Stats) -> dict[str, Any]:
    return {
        "count": s.count,
        "mean_seconds": seconds(s.mean),
        "median_seconds": seconds(s.median),
        "p90_seconds": seconds(s.p90),
    }


def _group_json(g: Group) -> dict[str, Any]:
    return {"incidents": g.incidents, "tta": _stats_json(g.tta), "ttr": _stats_json(g.ttr)}


def _incident_json(r: IncidentRow) -> dict[str, Any]:
    return {
        "number": r.number,
        "service": r.service,
        "summary": r.summary,
        "severity": r.severity,
        "environment": r.environment,
        "owner": r.owner,
        "team": r.team,
        "status": r.status.value,
        "reported_at": iso(r.reported_at),
        "tta_seconds": seconds(r.tta),
        "ttr_seconds": seconds(r.ttr),
        "resolution": r.resolution,
        "duplicate_of": r.duplicate_of,
    }


def _timeline_json(d: Digest) -> list[dict[str, Any]]:
    return [
        {
            "at": iso(e.at),
            "number": e.number,
            "kind": _kind(e),
            "actor": e.event.actor if e.event else e.happening.who if e.happening else None,
            "text": timeline_text(d, e),
        }
        for e in d.timeline
    ]


def _kind(e: TimelineEntry) -> str | None:
    if e.event is not None:
        return e.event.kind.value
    return e.happening.kind.value if e.happening is not None else None
