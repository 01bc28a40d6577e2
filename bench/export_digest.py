"""Benchmark: the digest of the busiest deploy and every export format over a large log.

Generates 100,000 incidents with about 1,000,000 events into a temporary SQLite database
(bulk inserts, deterministic), then runs each measurement in a fresh child process so its
peak RSS (getrusage) is its own, and prints a table and the same figures as JSON.

    .venv/bin/python bench/export_digest.py [--incidents 100000] [--keep DIR]

Numbers, not pass/fail: it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.store import Store  # noqa: E402
from plugins import MIGRATIONS  # noqa: E402

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SERVICES = [f"svc{i:02d}" for i in range(40)]
TEAMS = ["infra", "releng", "docs", "qa"]
FORMATS = ["csv", "json", "jsonl", "md"]
PEOPLE = 200
DEPLOYS = 50
BUSIEST_SHARE = 0.10  # the busiest deploy has this share of the incidents


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
            "source_network, source_room, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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


async def _migrate(url: str) -> None:
    store = Store(url)
    try:
        await store.upgrade([MIGRATIONS / "versions"])
    finally:
        await store.dispose()


async def _step(db: Path, step: str, out_dir: Path) -> dict[str, object]:
    """One measurement (in a child process)."""
    from zoneinfo import ZoneInfo

    from plugins.digest_format import markdown
    from plugins.output import atomic_text
    from plugins.services.deploys import DeployService
    from plugins.services.digest import DigestService
    from plugins.services.export import ExportService, Selection, write_export

    store = Store(f"sqlite+aiosqlite:///{db}")
    try:
        started = time.perf_counter()
        if step == "digest":
            deploy = await DeployService(store, "!").get(1)
            assert deploy is not None
            digest = await DigestService(store).collect(deploy, T0 + timedelta(days=400))
            text = markdown(digest, ZoneInfo("Europe/Prague"))
            with atomic_text(out_dir / "digest.md") as f:
                f.write(text)
            size, rows = len(text.encode()), len(digest.incidents)
        else:
            with atomic_text(out_dir / f"export.{step}") as f:
                done = await write_export(ExportService(store), step, f, Selection())
            size, rows = (out_dir / f"export.{step}").stat().st_size, done.incidents
        elapsed = time.perf_counter() - started
    finally:
        await store.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "step": step,
        "seconds": round(elapsed, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "incidents": rows,
        "output_mib": round(size / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep the database and outputs here")
    parser.add_argument("--child", nargs=3, metavar=("DB", "STEP", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db, step, out = args.child
        print(json.dumps(asyncio.run(_step(Path(db), step, Path(out)))))
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="deployday-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.sqlite3"
    db.unlink(missing_ok=True)
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{db}"))
    started = time.perf_counter()
    incidents, events = generate(db, args.incidents)
    generated = time.perf_counter() - started
    print(
        f"generated {incidents} incidents, {events} events in {generated:.1f}s "
        f"({db.stat().st_size / 2**20:.0f} MiB database)",
        file=sys.stderr,
    )

    results = []
    for step in ["baseline", "digest", *FORMATS]:
        if step == "baseline":  # an interpreter with the same imports, doing nothing
            cmd = [
                sys.executable,
                "-c",
                "import resource, bot.app, plugins.services.export, "
                "plugins.digest_format; print(resource.getrusage(resource.RUSAGE_SELF)"
                ".ru_maxrss)",
            ]
            kib = int(
                subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
            )
            results.append(
                {
                    "step": "baseline (imports only)",
                    "seconds": 0.0,
                    "peak_rss_mib": round(kib / 1024, 1),
                    "incidents": 0,
                    "output_mib": 0.0,
                }
            )
            continue
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(db), step, str(work)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout))

    print(
        f"\n{'step':<24} {'seconds':>8} {'peak RSS MiB':>13} {'incidents':>10} {'output MiB':>11}"
    )
    for r in results:
        label = r["step"] if r["step"] != "digest" else "digest (busiest deploy)"
        print(
            f"{label:<24} {r['seconds']:>8} {r['peak_rss_mib']:>13} {r['incidents']:>10} "
            f"{r['output_mib']:>11}"
        )
    print(
        json.dumps(
            {
                "incidents": incidents,
                "events": events,
                "generate_seconds": round(generated, 1),
                "results": results,
            },
            indent=2,
        )
    )
    if args.keep is None:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
