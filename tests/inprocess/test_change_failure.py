"""Change-failure figures of a scripted history through the bot: `!stats` in chat and the
JSON export's `change_failure` section, exact to the figure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.harness import Harness
from plugins.deploys.deployments import DeploymentService

T0 = datetime(2026, 11, 1, tzinfo=UTC)  # 01:00 in Prague
NOW = T0 + timedelta(days=10)
NETWORK, ROOM = "libera", "#ops"

# 3 services, 10 deployments (day, hour)
DEPLOYMENTS = {
    "pkgdb": [(0, 10), (2, 10), (4, 10), (8, 10)],
    "fas": [(1, 9), (5, 9), (9, 9)],
    "koji": [(1, 8), (6, 8), (9, 12)],
}


def at(day: int, hour: float) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


@pytest.fixture
async def bot(tmp_path: Path, database_url: str) -> Harness:
    harness = await Harness.start(
        tmp_path / "cf.sqlite3",
        database_url=database_url,
        networks={NETWORK: (ROOM,)},
        clock=FakeClock(T0),
        admins=["alice@libera"],
        timezone="Europe/Prague",
        export={"directory": str(tmp_path / "exports")},
    )
    yield harness
    await harness.close()


async def history(bot: Harness) -> None:
    """10 deployments; 5 incidents: #1 (pkgdb, 2h after a pkgdb deployment, fixed in 1h
    30m) and #2 (fas, 1h after a fas deployment, fixed in 30m) fail their deployments; #3
    comes 26h after a pkgdb deployment, #4 is of docs, #5 duplicates #1."""
    deployments = DeploymentService(bot.app.store)
    for service, times in DEPLOYMENTS.items():
        for day, hour in times:
            await deployments.record(service, "1.0", "production", "ci", at(day, hour), "cli")

    async def say(text: str, when: datetime) -> str:
        said = await bot.say("alice", text, network=NETWORK, room=ROOM, at=when)
        return said.text

    assert await say("!roster add alice infra", at(0, 11)) == "alice is on the infra roster"
    script = [
        ("!break pkgdb API returns 500", at(0, 12)),
        ("!break pkgdb API returns 500 again", at(0, 12.1)),
        ("!dup 2 1", at(0, 12.2)),
        ("!fixed 1", at(0, 13.5)),
        ("!break pkgdb slow search", at(3, 12)),
        ("!break docs links point at v1", at(4, 11)),
        ("!break fas login loops", at(5, 10)),
        ("!fixed 5", at(5, 10.5)),
    ]
    for text, when in script:
        reply = await say(text, when)
        assert not reply.startswith("alice:"), reply


async def test_stats_in_chat(bot: Harness) -> None:
    await history(bot)

    async def stats(text: str) -> str:
        said = await bot.say("dave", text, network=NETWORK, room=ROOM, at=NOW)
        return said.text

    assert await stats("!stats") == (
        "Change failure, last 30 days: a deployment failed if an incident of its service "
        "came within 24h\n"
        "all: 10 deployments (0.33 a day, 2.3 a week); 2 failed (20%): #1, #5; time to "
        "restore median 1h, mean 1h\n"
        "pkgdb: 4 deployments (0.13 a day, 0.93 a week); 1 failed (25%): #1; time to "
        "restore median 1h 30m, mean 1h 30m\n"
        "fas: 3 deployments (0.1 a day, 0.7 a week); 1 failed (33%): #5; time to restore "
        "median 30m, mean 30m\n"
        "koji: 3 deployments (0.1 a day, 0.7 a week); none failed"
    )
    assert await stats("!stats PKGDB --since 7d") == (
        "Change failure, last 7 days: a deployment failed if an incident of its service "
        "came within 24h\n"
        "pkgdb: 2 deployments (0.29 a day, 2 a week); none failed"
    )
    assert await stats("!stats fas --since 2026-11-06") == (
        "Change failure, since 2026-11-06 00:00 CET: a deployment failed if an incident of "
        "its service came within 24h\n"
        "fas: 2 deployments (0.4 a day, 2.8 a week); 1 failed (50%): #5; time to restore "
        "median 30m, mean 30m"
    )
    assert await stats("!stats bodhi") == (
        "Change failure, last 30 days: no deployments of bodhi recorded"
    )
    assert await stats("!stats --since tomorrow") == (
        "dave: --since: say how far back (7d, 30d, 12h) or from when (a date like "
        "2026-11-11); got 'tomorrow'"
    )
    assert (await stats("!stats pkg!db")).startswith("dave: a service name is up to 64")


async def test_the_json_export_has_the_change_failure_section(bot: Harness, tmp_path: Path) -> None:
    await history(bot)
    said = await bot.say("alice", "!export json", network=NETWORK, room=ROOM, at=NOW)
    assert said.text.startswith("exported 5 incidents")
    [path] = (tmp_path / "exports").iterdir()
    doc = json.loads(path.read_text())
    assert [i["number"] for i in doc["incidents"]] == [1, 2, 3, 4, 5]
    section = doc["change_failure"]
    # all time: from the first deployment (day 0, 10:00) to now
    assert {k: section[k] for k in ("since", "until", "window_seconds", "days")} == {
        "since": "2026-11-01T10:00:00Z",
        "until": "2026-11-11T00:00:00Z",
        "window_seconds": 86400,
        "days": 9.583,
    }
    assert section["overall"] == {
        "service": None,
        "deployments": 10,
        "per_day": 1.043,
        "per_week": 7.304,
        "failed": 2,
        "failure_rate": 0.2,
        "incidents": [1, 5],
        "time_to_restore": {"count": 2, "median_seconds": 3600, "mean_seconds": 3600},
        "unrestored": 0,
    }
    assert [(s["service"], s["deployments"], s["failed"]) for s in section["services"]] == [
        ("pkgdb", 4, 1),
        ("fas", 3, 1),
        ("koji", 3, 0),
    ]
    assert section["deploy_days_without_service"] == 0
