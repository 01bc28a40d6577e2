"""The digest as files: the full Markdown (for the digest directory and for mail) and the
JSON document. Pure functions of a `Digest`, so the same figures appear everywhere."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, tzinfo
from typing import Any

from plugins.common.chat import clock_time, duration
from plugins.common.files import iso, md_cell, seconds
from plugins.digest.figures import Digest, Group, IncidentRow
from plugins.digest.views import timeline_text
from plugins.metrics.change_views import change_section
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
)
UNKNOWN = ("consumer", "service", "incidents", "first reported", "by", "in catalogue")
MIXUPS = ("#", "service", "environment", "consumer", "reported", "by", "status", "TTR")


def markdown(d: Digest, tz: tzinfo) -> str:
    """The full digest, for the digest directory and for mail."""
    lines = [
        *_header(d, tz),
        *_figures(d),
        *change_section(d.change_failure, tz),
        *_incidents(d),
        *_still_open(d),
        *_helpers(d),
        *_services(d),
        *_policy_sections(d, tz),
        *_followups(d, tz),
        "## Timeline",
        "",
        *_timeline(d, tz),
    ]
    return "\n".join(lines) + "\n"


def _timeline(d: Digest, tz: tzinfo) -> Iterator[str]:
    """One line per event; a busy deploy has tens of thousands, so each minute's clock
    time is worked out once."""
    start = d.deploy.started_at
    clock: dict[datetime, str] = {}
    for e in d.timeline:
        minute = e.at.replace(second=0, microsecond=0)
        shown = clock.get(minute)
        if shown is None:
            shown = clock[minute] = clock_time(minute, tz, start)
        yield f"- {shown} {md_cell(timeline_text(d, e))}"


def _local(when: datetime, tz: tzinfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _row(*cells: object) -> str:
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"


def _table(header: Sequence[str], rows: list[str]) -> list[str]:
    return [_row(*header), "|" + "---|" * len(header), *rows, ""]


def _section(
    title: str, header: Sequence[str], rows: list[str], empty: str, intro: str = ""
) -> list[str]:
    """A heading, then the table (after its `intro`), or a line saying there is none."""
    if not rows:
        return [f"## {title}", "", empty, ""]
    return [f"## {title}", "", *([intro, ""] if intro else []), *_table(header, rows)]


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
    lines.append(
        f"- **Incidents**: {d.summary.total} ({len(d.still_open)} still open); "
        f"times in {tz}; digest written {_local(d.as_of, tz)}"
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
            f"#{r.number}",
            r.service,
            r.severity,
            r.environment or "—",
            _owner(r),
            r.team,
            r.status.label,
            duration(r.tta),
            duration(r.ttr),
            r.summary,
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


def _policy_sections(d: Digest, tz: tzinfo) -> list[str]:
    """Expected responders, unknown consumers, staging mix-ups: always for a planned
    deploy, otherwise only when there is something to say."""
    planned, start = d.planned_for is not None, d.deploy.started_at

    def at(when: datetime | None, empty: str = "—") -> str:
        return clock_time(when, tz, start) if when is not None else empty

    lines: list[str] = []
    if planned or d.responders:
        rows = [
            _row(r.label, at(r.reached_at, "not reached"), r.by or "—", at(r.reminded_at))
            for r in d.responders
        ]
        header = ("expected", "reached", "on duty", "reminded")
        lines += _section("Expected responders", header, rows, "Nobody was named as expected.")
    if planned or d.unknown_consumers:
        rows = [
            _row(
                u.consumer,
                u.service,
                ", ".join(f"#{n}" for n in u.numbers),
                at(u.first_reported),
                u.reporter or "—",
                f"added by {u.added_by}" if u.added_by else "no",
            )
            for u in d.unknown_consumers
        ]
        lines += _section(
            "Unknown consumers discovered",
            UNKNOWN,
            rows,
            "None: every consumer named in an incident was known.",
            "Named in incidents but not in the catalogue for that service; add them "
            "(`catalog add-consumer`) so the next API break pages them.",
        )
    if planned or d.staging_mixups:
        rows = [
            _row(
                f"#{m.number}",
                m.service,
                m.environment or "—",
                m.consumer or "—",
                at(m.reported_at),
                m.reporter or "—",
                m.status.label,
                duration(m.ttr),
            )
            for m in d.staging_mixups
        ]
        lines += _section(
            "Staging mix-ups",
            MIXUPS,
            rows,
            "None.",
            "Reported on a staging environment during this production deploy: pointed at staging?",
        )
    return lines


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
    }


def _timeline_json(d: Digest) -> list[dict[str, Any]]:
    return [
        {
            "at": iso(e.at),
            "number": e.number,
            "kind": e.event.kind.value if e.event else None,
            "actor": e.event.actor if e.event else None,
            "text": timeline_text(d, e),
        }
        for e in d.timeline
    ]


def _policy_json(d: Digest) -> dict[str, Any]:
    return {
        "expected_responders": [
            {
                "name": r.label,
                "reached_at": iso(r.reached_at),
                "by": r.by,
                "reminded_at": iso(r.reminded_at),
            }
            for r in d.responders
        ],
        "unknown_consumers": [
            {
                "consumer": u.consumer,
                "service": u.service,
                "numbers": list(u.numbers),
                "first_reported_at": iso(u.first_reported),
                "reporter": u.reporter,
                "added_by": u.added_by,
            }
            for u in d.unknown_consumers
        ],
        "staging_mixups": [
            {
                "number": m.number,
                "service": m.service,
                "environment": m.environment,
                "consumer": m.consumer,
                "reported_at": iso(m.reported_at),
                "reporter": m.reporter,
                "status": m.status.value,
                "ttr_seconds": seconds(m.ttr),
            }
            for m in d.staging_mixups
        ],
    }
