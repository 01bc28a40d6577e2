"""`deployday demo` plays its deploy day on a real miniircd and keeps its database: it plans
the deploy, reminds everyone an hour before, and its digest lists the unknown consumer.
The day is the one that ends when the demo runs, in the machine's time zone, so its files
are stamped with that moment and never a time to come."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tzlocal

from bot.devtools.demo import SCRIPT, deploy_start, local_zone, play

NOW = datetime(2026, 11, 25, 9, 14, 30, tzinfo=UTC)  # 10:14 in Prague: the day starts 09:00


async def test_the_demo_plays_a_whole_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.sqlite3"
    assert await play(db, now=NOW, zone="Europe/Prague") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("; the day that ends now, times in Europe/Prague")
    said = [line for line in out if line.startswith("[") and "<deployday>" not in line]
    assert len(said) == sum(1 for _, nick, _ in SCRIPT if nick)  # the rest: time passes
    assert said[0] == "[07:40] <alice> !roster add bob infra"
    assert said[3].startswith("[07:45] <alice> !deploy plan pkgdb2 09:00 --service pkgdb")
    assert any(
        line.startswith(
            "[08:00] <deployday> Reminder: deploy pkgdb2 of pkgdb (production) starts in 1h, "
        )
        and line.endswith("09:00 CET — API BREAK — packages API v2; the v1 endpoints return 410")
        for line in out
    )
    assert (
        "[09:00] <deployday> Deploy day: deploy pkgdb2 started by alice — API BREAK — "
        "packages API v2; the v1 endpoints return 410" in out
    )
    assert (
        "[09:18] <deployday> bob: page for infra from alice (on duty: bob) — bodhi "
        in "\n".join(out)
    )
    assert (
        "[09:35] <deployday> #1 reopened by dave: still 500 for /api/packages?page=2 — "
        "bob still owns it" in out
    )
    mttr = out.index("[10:12] <alice> !mttr")
    assert out[mttr + 1 : mttr + 5] == [
        "[10:12] <deployday> MTTR for deploy pkgdb2: 5 incidents — 1 acknowledged, 4 fixed",
        "[10:12] <deployday> time to acknowledge: n=5, mean 9m 24s, median 5m, p90 21m",
        "[10:12] <deployday> time to repair: n=4, mean 38m 30s, median 38m 30s, p90 51m 48s",
        "[10:12] <deployday> open: 1; oldest #5 bodhi, 57m old, unowned",
    ]
    end = out.index("[10:13] <alice> !deploy end")
    [digest] = (tmp_path / "digests").iterdir()
    [export] = (tmp_path / "exports").iterdir()
    # the export is stamped with the (fake) moment it was written; the digest is the
    # deploy's one file, replaced by each digest of it
    assert digest.name == "digest-pkgdb2.md"
    assert export.name == "export-20261125T091400Z.csv"
    assert out[end + 3 : end + 9] == [
        f"[10:13] <deployday> (privately to alice) full digest of deploy pkgdb2: {digest}",
        "[10:13] <deployday> Digest for deploy pkgdb2: 5 incidents, 1 still open; MTTA 9m 24s "
        "(median 5m, p90 21m); MTTR 38m 30s (median 38m 30s, p90 51m 48s)",
        "[10:13] <deployday> most affected: pkgdb (2), bodhi (1), docs (1); 1 unknown consumer; "
        "1 staging mix-up; 0 follow-ups; 3 people helped",
        f"[10:13] <deployday> full digest: {digest.name} (the path went to alice privately)",
        "[10:14] <alice> !export csv",
        f"[10:14] <deployday> (privately to alice) exported 5 incidents (18 events): {export}",
    ]
    text = digest.read_text()
    assert text.startswith("# Deploy digest: pkgdb2\n")
    assert "- **Started**: 2026-11-25 09:00 by alice\n" in text
    assert "- **Ended**: 2026-11-25 10:13 (1h 13m)\n" in text
    assert "times in Europe/Prague; digest written 2026-11-25 10:13\n" in text
    assert "## Unknown consumers discovered\n\n" in text
    assert "| fedora-review | pkgdb | #2 | 09:08 | dave | added by alice |\n" in text
    assert "- 09:18 alice paged infra: bodhi submissions time out, who can look?\n" in text
    assert "- 09:20 erin checked in for " in text
    assert export.suffix == ".csv" and len(export.read_text().splitlines()) == 1 + 18
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select number, service, status from incidents order by number")
        assert rows.fetchall() == [
            (1, "pkgdb", "fixed"),
            (2, "pkgdb", "fixed"),
            (3, "docs", "fixed"),
            (4, "koji-scripts", "fixed"),
            (5, "bodhi", "acknowledged"),
        ]
        kinds = {k for (k,) in conn.execute("select distinct kind from incident_events")}
        assert {"reported", "taken", "assigned", "note", "fixed", "reopened", "acked"} <= kinds


def test_by_default_the_day_ends_now_in_the_machines_zone() -> None:
    before = datetime.now(UTC)
    start = deploy_start(datetime.now(UTC))
    last_step = start + timedelta(minutes=SCRIPT[-1][0])
    assert before - timedelta(minutes=1) < last_step <= datetime.now(UTC)
    assert local_zone() == (tzlocal.get_localzone_name() or "UTC")
