"""A large, deterministic incident log for the scale benchmarks, bulk-inserted with the
sqlite3 module into a database the bot has migrated: people, 50 deploys (the first, the
busiest, holds a tenth of the incidents), duty shifts, incidents and about nine events
per incident (report, take, notes, fixes, reopenings, follow-ups)."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SERVICES = [f"svc{i:02d}" for i in range(40)]
TEAMS = ["infra", "releng", "docs", "qa"]
PEOPLE = 200
DEPLOYS = 50
BUSIEST_SHARE = 0.10  # the busiest deploy (deploy1) has this share of the incidents
BUSIEST = "deploy1"
RESPONSES = {"taken", "fixed"}  # the response kinds this generator writes


def _ts(when: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite."""
    return when.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(db: Path, incidents: int) -> tuple[int, int]:
    """Fill a migrated database; returns (incidents, events)."""
    rnd = random.Random(42)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.executemany(
        "INSERT INTO people (id, name, created_at) VALUES (?, ?, ?)",
        [(p, f"person{p}", _ts(T0)) for p in range(1, PEOPLE + 1)],
    )
    busiest = max(1, int(incidents * BUSIEST_SHARE))
    rest = incidents - busiest
    sizes = [busiest] + [
        rest // (DEPLOYS - 1) + (1 if i < rest % (DEPLOYS - 1) else 0) for i in range(DEPLOYS - 1)
    ]
    deploys, shifts = [], []
    start_of: dict[int, datetime] = {}
    for d in range(1, DEPLOYS + 1):
        start = T0 + timedelta(days=7 * (d - 1))
        start_of[d] = start
        deploys.append(
            (
                d,
                f"deploy{d}",
                d % 3 == 0,
                f"release {d}",
                "ended",
                _ts(start),
                _ts(start + timedelta(hours=10)),
                1,
                rnd.randint(1, PEOPLE),
            )
        )
        for p in rnd.sample(range(1, PEOPLE + 1), 20):
            on = start + timedelta(minutes=rnd.randint(0, 60))
            shifts.append(
                (
                    p,
                    rnd.choice(TEAMS),
                    d,
                    _ts(on),
                    _ts(on + timedelta(minutes=rnd.randint(60, 540))),
                )
            )
    cur.executemany(
        "INSERT INTO deploys (id, name, api_break, description, status, started_at, ended_at, "
        "started_by, lead_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        deploys,
    )
    cur.executemany(
        "INSERT INTO duty_shifts (person_id, team, deploy_id, on_at, off_at) "
        "VALUES (?, ?, ?, ?, ?)",
        shifts,
    )
    number = 0
    event_count = 0
    inc_rows: list[tuple[object, ...]] = []
    ev_rows: list[tuple[object, ...]] = []

    def flush() -> None:
        cur.executemany(
            "INSERT INTO incidents (id, number, deploy_id, service, environment, summary, "
            "severity, status, reporter_id, owner_id, duplicate_of, created_at, updated_at, "
            "source_network, source_room, version, acknowledged_at, fixed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inc_rows,
        )
        cur.executemany(
            "INSERT INTO incident_events (incident_id, at, actor_id, kind, detail, severity, "
            "target_id, other_number, network, room) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ev_rows,
        )
        inc_rows.clear()
        ev_rows.clear()

    for d, size in enumerate(sizes, start=1):
        for _ in range(size):
            number += 1
            reported = start_of[d] + timedelta(seconds=rnd.randint(0, 9 * 3600))
            reporter = rnd.randint(1, PEOPLE)
            sev = rnd.choice((1, 2, 3, 3, 3, 4))
            summary = f"{rnd.choice(SERVICES)} fails: error {rnd.randint(100, 599)} on /api/v2"
            events: list[tuple[object, ...]] = [
                (number, _ts(reported), reporter, "reported", summary, sev, None, None)
            ]
            at = reported
            owner = None

            def add(
                kind: str,
                actor: int,
                detail: str | None = None,
                target: int | None = None,
                events: list[tuple[object, ...]] = events,
                number: int = number,
            ) -> None:
                nonlocal at
                at = at + timedelta(seconds=rnd.randint(30, 1800))
                events.append((number, _ts(at), actor, kind, detail, None, target, None))

            if rnd.random() < 0.9:
                owner = rnd.randint(1, PEOPLE)
                add("taken", owner)
            for _ in range(rnd.randint(4, 8)):
                add("note", rnd.randint(1, PEOPLE), "=cmd|' /C calc'!A0 looked at the logs")
            status = "open" if owner is None else "acknowledged"
            if rnd.random() < 0.8:
                add("fixed", owner or rnd.randint(1, PEOPLE), "rolled back")
                status = "fixed"
                if rnd.random() < 0.1:
                    add("reopened", reporter, "still broken")
                    add("fixed", owner or reporter, "really fixed")
            if rnd.random() < 0.2:
                add("followup", rnd.randint(1, PEOPLE), "add a regression test")
            inc_rows.append(
                (
                    number,
                    number,
                    d,
                    rnd.choice(SERVICES),
                    rnd.choice(("production", "staging")),
                    summary,
                    sev,
                    status,
                    reporter,
                    owner,
                    None,
                    _ts(reported),
                    _ts(at),
                    "libera",
                    "#fedora-admin",
                    1,
                    # what the bot keeps with each event: first response, last fix
                    next((e[1] for e in events if e[3] in RESPONSES), None),
                    max((e[1] for e in events if e[3] == "fixed"), default=None),
                )
            )
            ev_rows += [(*e, "libera", "#fedora-admin") for e in events]
            event_count += len(events)
            if len(inc_rows) >= 5000:
                flush()
    flush()
    cur.execute("INSERT INTO counters (name, value) VALUES ('incident', ?)", (number,))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return number, event_count
