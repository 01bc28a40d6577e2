"""Exports of the scripted deploy day in every format, exact to the field; bad input is
one line and leaves no file behind, from chat and from the command line."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.devtools.harness import Harness
from bot.store import Store
from plugins.export.service import Batch, ExportService, Selection
from plugins.export.writers import CSV_COLUMNS, record
from tests.inprocess.day_after import NETWORK, ROOM, play, start, t

INCIDENT_1 = {
    "number": 1,
    "service": "pkgdb",
    "summary": "API returns 500 | on /packages",
    "severity": 3,
    "environment": "production",
    "status": "fixed",
    "deploy": "pkgdb2",
    "reporter": "dave",
    "owner": "bob",
    "duplicate_of": None,
    "reported_at": "2026-11-25T08:10:00Z",
    "acknowledged_at": "2026-11-25T08:12:00Z",
    "fixed_at": "2026-11-25T08:50:00Z",
    "tta_seconds": 120,
    "ttr_seconds": 2400,
    "updated_at": "2026-11-25T08:50:00Z",
    "source_network": "libera",
    "source_room": "#fedora-admin",
}


def event(at: str, kind: str, actor: str, detail: str | None = None, **more: object) -> dict:
    return {
        "at": f"2026-11-25T{at}:00Z",
        "kind": kind,
        "actor": actor,
        "detail": detail,
        "severity": None,
        "target": None,
        "other_number": None,
        "network": "libera",
        "room": "#fedora-admin",
        **more,
    }


EVENTS_1 = [
    event("08:10", "reported", "dave", "API returns 500 | on /packages", severity=3),
    event("08:12", "taken", "bob"),
    event("08:30", "fixed", "bob", "added the index"),
    event("08:31", "followup", "bob", "add a CI check for missing indexes"),
    event("08:45", "reopened", "dave", "still 500 on page 2"),
    event("08:50", "fixed", "bob", "pagination fixed"),
]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted day's database, played once for the module."""
    db = tmp_path_factory.mktemp("export") / "day.sqlite3"

    async def run() -> None:
        bot = await start(db)
        try:
            await play(bot)
        finally:
            await bot.close()

    asyncio.run(run())
    return db


@pytest.fixture
def config(day: Path, tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"database: sqlite:///{day}\ntimezone: Europe/Prague\n"
        f"export: {{directory: {tmp_path / 'exports'}}}\n"
    )
    return path


def export(config: Path, *args: str) -> int:
    return main(["export", "-c", str(config), *args])


async def test_an_export_directory_on_the_web_is_linked_in_chat(tmp_path: Path) -> None:
    bot = await start(tmp_path / "day.sqlite3", export={"url_base": "https://x.example.org/ex"})
    try:
        await play(bot)
        said = await bot.say("alice", "!export jsonl", at=t(130), network=NETWORK, room=ROOM)
    finally:
        await bot.close()
    assert said.text == (
        "exported 4 incidents (14 events) to https://x.example.org/ex/export-20261125T101000Z.jsonl"
    )
    assert said.elsewhere == []


def test_json_is_one_object_per_incident_with_its_events(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    assert export(config, "--format", "json", "-o", str(out)) == 0
    doc = json.loads(out.read_text())["incidents"]
    assert [i["number"] for i in doc] == [1, 2, 3, 4]
    assert doc[0] == {**INCIDENT_1, "events": EVENTS_1}
    assert {k: doc[1][k] for k in ("environment", "severity", "tta_seconds", "ttr_seconds")} == {
        "environment": "staging",
        "severity": 2,
        "tta_seconds": 300,
        "ttr_seconds": 2580,
    }
    assert (doc[2]["acknowledged_at"], doc[2]["tta_seconds"], doc[2]["fixed_at"]) == (
        None,
        None,
        None,
    )
    assert (doc[3]["status"], doc[3]["tta_seconds"], doc[3]["ttr_seconds"]) == (
        "acknowledged",
        540,
        None,
    )


async def test_incidents_keep_their_own_events_across_batches(day: Path) -> None:
    """Incidents and events come from two queries read side by side; batches of one
    incident still give each incident exactly its events, in time order."""
    store = Store(f"sqlite:///{day}")
    batches: list[Batch] = []
    try:
        await ExportService(store).each(Selection(), batches.append, batch=1)
    finally:
        await store.dispose()
    assert [[incident[0] for incident, _ in b] for b in batches] == [[1], [2], [3], [4]]
    assert record(*batches[0][0]) == {**INCIDENT_1, "events": EVENTS_1}
    assert [len(events) for b in batches for _, events in b] == [6, 4, 2, 2]


def test_jsonl_is_one_incident_a_line(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    assert export(config, "--format", "jsonl", "-o", str(out)) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 4
    assert json.loads(lines[0]) == {**INCIDENT_1, "events": EVENTS_1}
    assert sum(len(json.loads(line)["events"]) for line in lines) == 14


def test_csv_is_one_row_per_event_with_formulas_neutralised(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    assert export(config, "--format", "csv", "-o", str(out)) == 0
    rows = list(csv.reader(io.StringIO(out.read_text(), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 14
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    expected = {k: "" if v is None else str(v) for k, v in INCIDENT_1.items()}
    expected.update({f"event_{k}": "" if v is None else str(v) for k, v in EVENTS_1[0].items()})
    assert first == expected
    followup = next(
        r for r in rows if r[CSV_COLUMNS.index("event_kind")] == "followup" and r[0] == "2"
    )
    assert followup[CSV_COLUMNS.index("event_detail")] == "'=alert on queue length"


def test_markdown_escapes_what_would_break_a_table(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.md"
    assert export(config, "--format", "md", "--deploy", "pkgdb2", "-o", str(out)) == 0
    text = out.read_text()
    assert text.startswith(
        "# deployday incident export\n\nTimes are Europe/Prague time, to the second, each with "
        "its zone's abbreviation.\n\n"
    )
    assert "## #1 pkgdb: API returns 500 \\| on /packages\n" in text
    assert (
        "| 2026-11-25 09:10:00 CET | reported | dave | API returns 500 \\| on /packages | 3 |  |  "
        "| libera | #fedora-admin |\n"
    ) in text
    assert text.count("\n## #") == 4


async def test_markdown_times_are_local_to_the_second(tmp_path: Path) -> None:
    at = datetime(2026, 11, 25, 8, 10, 5, 123456, tzinfo=UTC)
    bot = await Harness.start(
        tmp_path / "t.sqlite3", admins=["alice@test"], clock=FakeClock(at), timezone="Europe/Prague"
    )
    try:
        await bot.say("alice", "!break pkgdb API down")
        said = await bot.say("alice", "!export md", room="alice")
    finally:
        await bot.close()
    text = await asyncio.to_thread(Path(said.text.split(" to ", 1)[1]).read_text)
    assert "- reported_at: 2026-11-25 09:10:05 CET\n" in text
    assert "| 2026-11-25 09:10:05 CET | reported | alice | API down | 3 |" in text
    assert "123456" not in text and "T08:10" not in text


def test_ranges_and_the_default_directory(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 09:20 to 09:30 Prague: only #3 (reported 09:25)
    assert (
        export(
            config,
            "--format",
            "jsonl",
            "--since",
            "2026-11-25T09:20",
            "--until",
            "2026-11-25T09:30",
        )
        == 0
    )
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("exported 1 incident (2 events) to ")
    path = Path(printed.rsplit(" to ", 1)[1])
    assert path.parent == tmp_path / "exports" and path.suffix == ".jsonl"
    assert [json.loads(line)["number"] for line in path.read_text().splitlines()] == [3]
    assert (
        export(config, "--format", "csv", "--since", "2026-11-25", "--until", "2026-11-25") == 0
    )  # a whole day
    assert capsys.readouterr().out.startswith("exported 4 incidents (14 events) to ")
    assert export(config, "--format", "jsonl", "-o", "-") == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--deploy", "nosuch"], "no deploy named 'nosuch'"),
        (["--since", "2026-12-01"], "nothing to export: no incidents since 2026-12-01 00:00 CET"),
        (
            ["--since", "2026-11-26", "--until", "2026-11-25"],
            "--since 2026-11-26 is not before --until 2026-11-25; nothing could match",
        ),
        (
            ["--until", "next week"],
            "--until: expected a date like 2026-11-25 or a time like 2026-11-25T09:30, "
            "got 'next week'",
        ),
        (
            ["-o", "/nonexistent/dir/x.csv"],
            "cannot write /nonexistent/dir/x.csv: No such file or directory",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    assert export(config, "--format", "csv", *args) == 1
    assert capsys.readouterr().err == f"deployday export: {problem}\n"
    exports = tmp_path / "exports"
    assert not exports.exists() or list(exports.iterdir()) == []


def test_an_existing_file_is_replaced_whole(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    out.write_text("old")
    assert export(config, "--format", "csv", "--deploy", "nosuch", "-o", str(out)) == 1
    assert out.read_text() == "old"
    assert export(config, "--format", "csv", "-o", str(out)) == 0
    assert out.read_text().startswith("number,service,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "x.csv"]


async def test_export_from_chat(tmp_path: Path) -> None:
    bot = await start(tmp_path / "day.sqlite3")
    try:
        await play(bot)

        async def say(who: str, text: str) -> str:
            return (await bot.say(who, text, at=t(130), network=NETWORK, room=ROOM)).text

        path = tmp_path / "exports" / "export-20261125T101000Z.csv"
        said = await bot.say("alice", "!export CSV", at=t(130), network=NETWORK, room=ROOM)
        assert said.text == (
            f"exported 4 incidents (14 events) to {path.name} (the path went to alice privately)"
        )
        assert [(s.room, s.text) for s in said.elsewhere] == [
            ("alice", f"exported 4 incidents (14 events): {path}")
        ]
        assert path.read_bytes().count(b"\r\n") == 15  # RFC 4180 line ends
        deploy_path = tmp_path / "exports" / "export-pkgdb2-20261125T101000Z.md"
        asked_privately = await bot.say(
            "alice", "!export md --deploy pkgdb2", network=NETWORK, room="alice"
        )
        assert asked_privately.text == f"exported 4 incidents (14 events) to {deploy_path}"
        assert await say("alice", "!export xml") == (
            "alice: export formats are csv, json, jsonl, md, not 'xml'; usage: "
            "!export <csv|json|jsonl|md> [--deploy DEPLOY] [--since SINCE] [--until UNTIL]"
        )
        assert await say("alice", "!export json --since 2027-01-01") == (
            "alice: nothing to export: no incidents since 2027-01-01 00:00 CET"
        )
        assert await say("bob", "!export json") == (
            "bob: !export is for admins only (admins are listed in the bot's config)"
        )
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name, deploy_path.name]
    finally:
        await bot.close()


def test_json_ends_with_the_change_failure_figures_of_the_period(
    config: Path, tmp_path: Path
) -> None:
    """The scripted deploy day recorded no deployment and names no service: it is one
    change, and its four incidents (two fixed, in 40m and 43m) make it fail."""
    out = tmp_path / "day.json"
    period = ("--since", "2026-11-25", "--until", "2026-11-25")
    assert export(config, "--format", "json", *period, "-o", str(out)) == 0
    section = json.loads(out.read_text())["change_failure"]
    assert section == {
        "since": "2026-11-24T23:00:00Z",
        "until": "2026-11-25T23:00:00Z",
        "window_seconds": 86400,
        "days": 1.0,
        "overall": {
            "service": None,
            "deployments": 1,
            "per_day": 1.0,
            "per_week": 7.0,
            "failed": 1,
            "failure_rate": 1.0,
            "incidents": [1, 2, 3, 4],
            "time_to_restore": {"count": 2, "median_seconds": 2490, "mean_seconds": 2490},
            "unrestored": 2,
        },
        "deploy_days_without_service": 1,
        "services": [],
    }


def test_postgresql_exports_the_same_records(postgres_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        bot = await start(tmp_path / "unused.sqlite3", database_url=postgres_url)
        try:
            await play(bot)
        finally:
            await bot.close()

    asyncio.run(run())
    config = tmp_path / "pg.yaml"
    config.write_text(f"database: {postgres_url}\ntimezone: Europe/Prague\n")
    out = tmp_path / "all.json"
    assert export(config, "--format", "json", "-o", str(out)) == 0
    doc = json.loads(out.read_text())["incidents"]
    assert doc[0] == {**INCIDENT_1, "events": EVENTS_1}
    assert [(i["tta_seconds"], i["ttr_seconds"]) for i in doc] == [
        (120, 2400),
        (300, 2580),
        (None, None),
        (540, None),
    ]
