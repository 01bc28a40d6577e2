"""`deployday demo` plays its deploy day on a real miniircd and keeps its database: it plans
the deploy, reminds everyone an hour before, and its digest lists the unknown consumer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.devtools.demo import SCRIPT, play


async def test_the_demo_plays_a_whole_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.sqlite3"
    assert await play(db) == 0
    out = capsys.readouterr().out.splitlines()
    said = [line for line in out if line.startswith("[") and "<deployday>" not in line]
    assert len(said) == sum(1 for _, nick, _ in SCRIPT if nick)  # the rest: time passes
    assert any(
        line.startswith(
            "[08:00] <deployday> Reminder: deploy pkgdb2 of pkgdb (production) starts in 1h, "
        )
        and line.endswith("09:00 UTC — API BREAK — packages API v2; the v1 endpoints return 410")
        for line in out
    )
    assert (
        "[09:00] <deployday> Deploy day: deploy pkgdb2 started by alice — API BREAK — "
        "packages API v2; the v1 endpoints return 410" in out
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
    digest = next(p for p in (tmp_path / "digests").iterdir())
    export = next(p for p in (tmp_path / "exports").iterdir())
    assert out[end + 3 : end + 8] == [
        "[10:13] <deployday> Digest for deploy pkgdb2: 5 incidents, 1 still open; MTTA 9m 24s "
        "(median 5m, p90 21m); MTTR 38m 30s (median 38m 30s, p90 51m 48s)",
        "[10:13] <deployday> most affected: pkgdb (2), bodhi (1), docs (1); 1 unknown consumer; "
        "1 staging mix-up; 0 follow-ups; 3 people helped",
        f"[10:13] <deployday> full digest: {digest}",
        "[10:14] <alice> !export csv",
        f"[10:14] <deployday> exported 5 incidents (18 events) to {export}",
    ]
    text = digest.read_text()
    assert text.startswith("# Deploy digest: pkgdb2\n")
    assert "## Unknown consumers discovered\n\n" in text
    assert "| fedora-review | pkgdb | #2 | 09:08 | dave | added by alice |\n" in text
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
