"""How the plan and the catalogue's sections read in the digest: expected responders,
unknown consumers, staging mix-ups, in Markdown and in the JSON document."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from plugins.common.chat import clock_time, duration
from plugins.common.files import iso, seconds
from plugins.digest.figures import Digest
from plugins.digest.tables import row, section

UNKNOWN = ("consumer", "service", "incidents", "first reported", "by", "in catalogue")
MIXUPS = ("#", "service", "environment", "consumer", "reported", "by", "status", "TTR")


def policy_sections(d: Digest, tz: tzinfo) -> list[str]:
    """Expected responders, unknown consumers, staging mix-ups: always for a planned
    deploy, otherwise only when there is something to say."""
    planned, start = d.planned_for is not None, d.deploy.started_at

    def at(when: datetime | None, empty: str = "—") -> str:
        return clock_time(when, tz, start) if when is not None else empty

    lines: list[str] = []
    if planned or d.responders:
        rows = [
            row(r.label, at(r.reached_at, "not reached"), r.by or "—", at(r.reminded_at))
            for r in d.responders
        ]
        header = ("expected", "reached", "on duty", "reminded")
        lines += section("Expected responders", header, rows, "Nobody was named as expected.")
    if planned or d.unknown_consumers:
        rows = [
            row(
                u.consumer,
                u.service,
                ", ".join(f"#{n}" for n in u.numbers),
                at(u.first_reported),
                u.reporter or "—",
                f"added by {u.added_by}" if u.added_by else "no",
            )
            for u in d.unknown_consumers
        ]
        lines += section(
            "Unknown consumers discovered",
            UNKNOWN,
            rows,
            "None: every consumer named in an incident was known.",
            "Named in incidents but not in the catalogue for that service; add them "
            "(`catalog add-consumer`) so the next API break pages them.",
        )
    if planned or d.staging_mixups:
        rows = [
            row(
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
        lines += section(
            "Staging mix-ups",
            MIXUPS,
            rows,
            "None.",
            "Reported on a staging environment during this production deploy: pointed at staging?",
        )
    return lines


def policy_json(d: Digest) -> dict[str, Any]:
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
