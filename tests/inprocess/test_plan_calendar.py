"""The calendar feed of planned deploys on the fake clock: a plan moved, given responders
and cancelled in chat stays one event (same UID, SEQUENCE up, LAST-MODIFIED the clock's),
a cancelled one leaves the feed after `keep`; the intake serves it to a calendar app with
its own ?token=; `deployday plan ics` writes it to a file or standard output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import icalendar
import pytest
import vobject

from bot.cli import main
from bot.clock import FakeClock
from bot.devtools.harness import Harness
from bot.loading import build_config
from plugins.plans.commands import PlansPlugin
from tests.inprocess.intake import TOKEN, running

EARLY = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
NET, ROOM = "libera", "#fedora-admin"
DOMAIN = "deployday.example.org"
PLAN = "!deploy plan pkgdb2 2026-11-25 09:00 --api-break packages API v2, with; care"
CAL_TOKEN = "calendar-only-token"


def events(raw: bytes) -> list[Any]:
    """The feed's events as vobject reads them, after checking icalendar reads the same
    UIDs: two parsers that share no code."""
    theirs = list(vobject.readOne(raw.decode()).contents.get("vevent", []))
    ours = [str(e["UID"]) for e in icalendar.Calendar.from_ical(raw).walk("VEVENT")]
    assert ours == [e.uid.value for e in theirs]
    return theirs


async def start(db: Path, clock: FakeClock, database_url: str | None) -> Harness:
    return await Harness.start(
        db,
        clock=clock,
        database_url=database_url,
        admins=["alice@libera"],
        timezone="Europe/Prague",
        networks={NET: (ROOM,)},
        plans={"calendar": {"domain": DOMAIN, "keep": "30d", "duration": "90m"}},
    )


async def test_edits_and_cancellation_keep_the_event(tmp_path: Path, database_url: str) -> None:
    clock = FakeClock(EARLY)
    bot = await start(tmp_path / "c.sqlite3", clock, database_url)
    plugin = next(p for p in bot.app.plugins if isinstance(p, PlansPlugin))

    async def feed() -> list[Any]:
        return events(await plugin.calendar.render(clock.now()))

    async def say(line: str) -> str:
        clock.advance(hours=1)
        return (await bot.say("alice", line, network=NET, room=ROOM)).text

    try:
        assert (await say(PLAN)).startswith("Planned: deploy pkgdb2 (production)")
        [planned] = await feed()
        uid = f"plan-1@{DOMAIN}"
        assert planned.uid.value == uid and planned.sequence.value == "0"
        assert planned.dtstart.value == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 CET
        assert planned.dtend.value == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
        assert planned.dtstamp.value == EARLY + timedelta(hours=1)
        assert planned.description.value.startswith("packages API v2, with; care\n")
        assert [a.trigger.value for a in planned.valarm_list] == [
            -timedelta(days=7),
            -timedelta(days=1),
            -timedelta(hours=1),
        ]
        # nothing changed: the same bytes at a later time (a published file stays put)
        first = await plugin.calendar.render(clock.now())
        clock.advance(minutes=30)
        assert await plugin.calendar.render(clock.now()) == first

        assert (await say("!deploy move pkgdb2 2026-11-26 14:00")).startswith("Moved:")
        [moved] = await feed()
        assert (moved.uid.value, moved.sequence.value) == (uid, "1")
        assert moved.dtstart.value == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
        assert moved.last_modified.value == moved.dtstamp.value == clock.now()

        assert "expects releng" in await say("!deploy expect pkgdb2 releng")
        await say("!deploy expect pkgdb2 releng")  # nobody new: no change to the event
        [expecting] = await feed()
        assert (expecting.uid.value, expecting.sequence.value) == (uid, "2")
        assert "Expected on duty: releng" in expecting.description.value

        assert (await say("!deploy cancel pkgdb2")).startswith("Cancelled:")
        cancelled_at = clock.now()
        [cancelled] = await feed()
        assert (cancelled.uid.value, cancelled.sequence.value) == (uid, "3")
        assert cancelled.status.value == "CANCELLED"
        assert cancelled.dtstamp.value == cancelled_at
        assert "valarm" not in cancelled.contents

        await say("!deploy plan pkgdb2 2026-11-27 09:00 second try")  # a new plan, a new event
        assert [(e.uid.value, e.status.value) for e in await feed()] == [
            (uid, "CANCELLED"),
            (f"plan-2@{DOMAIN}", "CONFIRMED"),
        ]
        # 30 days after its time and its cancellation, the cancelled plan leaves the feed
        clock.set(datetime(2026, 11, 26, 13, 0, tzinfo=UTC) + timedelta(days=30, minutes=1))
        assert [e.uid.value for e in await feed()] == [f"plan-2@{DOMAIN}"]
    finally:
        await bot.close()


async def test_a_reload_renames_the_calendar(tmp_path: Path) -> None:
    bot = await start(tmp_path / "r.sqlite3", FakeClock(EARLY), None)
    plugin = next(p for p in bot.app.plugins if isinstance(p, PlansPlugin))
    try:
        new = build_config(
            {"database": bot.app.config.database, "plans": {"calendar": {"name": "Renamed"}}}
        )
        await bot.app.reconfigure(new, ["database", "networks", "timezone"])
        raw = await plugin.calendar.render(EARLY)
        assert vobject.readOne(raw.decode()).contents["x-wr-calname"][0].value == "Renamed"
    finally:
        await bot.close()


async def test_the_intake_serves_the_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYDAY_CALENDAR_TOKEN", CAL_TOKEN)
    async with running(tmp_path, monkeypatch) as intake:
        said = await intake.bot.say(
            "alice", "!deploy plan fas3 2026-11-26 10:00 --api-break", network="libera", room="#ops"
        )
        assert said.text.startswith("Planned: deploy fas3")
        response = await intake.get("/calendar.ics")  # the bearer token works, as everywhere
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"

        async with aiohttp.ClientSession() as app:  # a calendar app: no headers of its own

            async def fetch(query: str) -> tuple[int, bytes]:
                async with app.get(f"{intake.url}/calendar.ics{query}") as r:
                    return r.status, await r.read()

            status, body = await fetch(f"?token={CAL_TOKEN}")
            assert status == 200
            [event] = events(body)
            assert event.summary.value == "Deploy fas3 (production) — API BREAK"
            assert event.dtstart.value == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # zone: UTC
            status, body = await fetch("")
            assert (status, json.loads(body)) == (
                401,
                {"error": "missing or wrong bearer token (Authorization: Bearer … or ?token=…)"},
            )
            assert (await fetch("?token=wrong"))[0] == 401
            # the intake's token is not taken in a URL, and the calendar's opens nothing else
            assert (await fetch(f"?token={TOKEN}"))[0] == 401
            async with app.get(f"{intake.url}/metrics?token={CAL_TOKEN}") as r:
                assert r.status == 401


async def test_without_a_calendar_token_only_the_bearer_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEPLOYDAY_CALENDAR_TOKEN", raising=False)
    async with running(tmp_path, monkeypatch) as intake, aiohttp.ClientSession() as app:
        async with app.get(f"{intake.url}/calendar.ics?token=") as r:
            assert r.status == 401
        assert (await intake.get("/calendar.ics")).status == 200


def test_the_command_line_writes_the_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    config = tmp_path / "config.yaml"
    config.write_text(
        "database: sqlite:///cli.sqlite3\n"
        "timezone: Europe/Prague\n"
        f"plans: {{calendar: {{domain: {DOMAIN}, name: 'Deploys, infra'}}}}\n"
    )
    assert main(["plan", "add", "pkgdb2", "2099-11-25 09:00", "-c", str(config)]) == 0
    capsys.readouterr()
    out = tmp_path / "deploys.ics"
    assert main(["plan", "ics", "-c", str(config), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (1 event)\n"
    [event] = events(out.read_bytes())
    assert (event.uid.value, event.summary.value) == (
        f"plan-1@{DOMAIN}",
        "Deploy pkgdb2 (production)",
    )
    assert event.dtstart.value == datetime(2099, 11, 25, 8, 0, tzinfo=UTC)
    assert vobject.readOne(out.read_text()).contents["x-wr-calname"][0].value == "Deploys, infra"

    assert main(["plan", "cancel", "pkgdb2", "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["plan", "ics", "-c", str(config)]) == 0  # standard output by default
    [event] = events(capsys.readouterr().out.encode())
    assert (event.uid.value, event.status.value, event.sequence.value) == (
        f"plan-1@{DOMAIN}",
        "CANCELLED",
        "1",
    )

    missing = tmp_path / "no" / "such" / "dir" / "deploys.ics"
    assert main(["plan", "ics", "-c", str(config), "-o", str(missing)]) == 1
    assert capsys.readouterr().err == (
        f"deployday plan: cannot write {missing}: No such file or directory\n"
    )
