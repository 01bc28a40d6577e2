"""A whole deploy day through the bot, with known times, checking what people see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.harness import Harness

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Prague


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def day(tmp_path: Path, database_url: str) -> Harness:
    """The day runs on SQLite and on PostgreSQL: the same code, the same answers."""
    bot = await Harness.start(
        tmp_path / "day.sqlite3",
        database_url=database_url,
        networks={"libera": ("#fedora-admin", "#fedora-noc")},
        clock=FakeClock(T0),
        admins=["alice@libera"],
        timezone="Europe/Prague",
    )
    yield bot
    await bot.close()


async def test_a_deploy_day(day: Harness) -> None:
    async def say(nick: str, text: str, minute: float, room: str = "#fedora-admin") -> str:
        said = await day.say(nick, text, network="libera", room=room, at=t(minute))
        return said.text

    started = await day.say(
        "alice",
        "!deploy start pkgdb2 --api-break new packages API",
        network="libera",
        room="#fedora-admin",
        at=t(0),
    )
    assert started.text == (
        "Deploy day: deploy pkgdb2 started by alice — API BREAK — new packages API\n"
        "Firefighters: !checkin <team> to go on duty; report breakage with "
        "!break <service> <what broke>"
    )
    assert [(s.room, s.text.splitlines()[0]) for s in started.elsewhere] == [
        ("#fedora-noc", "Deploy day: deploy pkgdb2 started by alice — API BREAK — new packages API")
    ]

    assert await say("alice", "!roster add bob infra", 1) == "bob is on the infra roster"
    assert await say("alice", "!roster add carol releng", 1) == "carol is on the releng roster"
    assert await say("bob", "!checkin", 2) == "bob is on duty for infra"
    assert await say("carol", "!checkin", 3) == "carol is on duty for releng"
    assert await say("alice", "!lead alice", 3) == "alice now leads deploy pkgdb2"
    assert await say("dave", "!oncall", 4) == (
        "on duty: infra: bob (since 09:02 CET); releng: carol (since 09:03)"
    )

    # five breakages on different services, reported by someone outside the roster,
    # interleaved with the firefighters' work, in time order
    async def report(number: int, service: str, summary: str, minute: float) -> None:
        assert await say("dave", f"!break {service} {summary}", minute) == (
            f"#{number} opened: [sev3] {service}: {summary} — !take {number} to own it"
        )

    await report(1, "pkgdb", "API returns 500 on /packages", 10)
    await report(2, "fas", "login loops", 11)
    await report(3, "koji", "builds stuck in queue", 12)
    assert await say("bob", "!take 1", 12) == (
        "#1 is now owned by bob (acknowledged 2m after the report)"
    )
    assert await say("bob", "!sev 1 1", 12) == "#1 is now sev1"
    await report(4, "bodhi", "updates page blank", 13)
    await report(5, "docs", "links to old API", 14)
    assert await say("carol", "!assign 2 bob", 15) == "#2 assigned to bob by carol"
    assert (
        await say("carol", "!take 3", 16)
        == "#3 is now owned by carol (acknowledged 4m after the report)"
    )
    assert await say("bob", "!note 1 rolling back the schema", 20) == "noted on #1"
    assert await say("carol", "!ack 4", 23) == "#4 acknowledged by carol"
    assert await say("bob", "!fixed 2", 35) == "#2 fas fixed by bob after 24m"
    assert await say("bob", "!fixed 1 schema rolled back", 40) == (
        "#1 pkgdb fixed by bob after 30m: schema rolled back"
    )
    assert (
        await say("carol", "!fixed 3 requeued", 46) == "#3 koji fixed by carol after 34m: requeued"
    )
    assert await say("dave", "!reopen 2 still loops for some users", 50) == (
        "#2 reopened by dave: still loops for some users — bob still owns it"
    )
    assert await say("bob", "!fixed 2 cleared sessions", 62) == (
        "#2 fas fixed by bob after 51m: cleared sessions"
    )
    assert await say("carol", "!dup 5 4", 64) == "#5 closed as a duplicate of #4"
    # #4 stays open

    incidents = await say("dave", "!incidents all", 70)
    assert incidents.splitlines() == [
        "5 incidents",
        "#1 [sev1] pkgdb: API returns 500 on /packages — fixed",
        "#2 [sev3] fas: login loops — fixed",
        "#3 [sev3] koji: builds stuck in queue — fixed",
        "#4 [sev3] bodhi: updates page blank — acknowledged, 57m old",
        "#5 [sev3] docs: links to old API — duplicate",
    ]
    assert (await say("dave", "!incidents", 70)).splitlines() == [
        "1 open incident",
        "#4 [sev3] bodhi: updates page blank — acknowledged, 57m old",
    ]

    show = await say("dave", "!show 2", 70)
    assert show.splitlines() == [
        "#2 [sev3] fas: login loops — fixed (deploy pkgdb2)",
        "09:11 CET dave reported it (sev3) on libera",
        "09:15 carol assigned it to bob",
        "09:35 bob fixed it",
        "09:50 dave reopened it: still loops for some users",
        "10:02 bob fixed it: cleared sessions",
    ]

    # TTA: #1 2m, #2 4m, #3 4m, #4 10m; #5 is a duplicate of #4, in no figure (as in the
    # digest). TTR: #1 30m, #2 51m (the fix that stands), #3 34m
    mttr = await say("dave", "!mttr", 70)
    assert mttr.splitlines() == [
        "MTTR for deploy pkgdb2: 4 incidents — 1 acknowledged, 3 fixed; 1 duplicate not counted",
        "time to acknowledge: n=4, mean 5m, median 4m, p90 8m 12s",
        "time to repair: n=3, mean 38m 20s, median 34m, p90 47m 36s",
        "open: 1; oldest #4 bodhi, 57m old, unowned",
    ]
    assert (await say("dave", "!mttr service fas", 70)).splitlines()[2] == (
        "time to repair: n=1, mean 51m, median 51m, p90 51m"
    )

    ended = await day.say("alice", "!deploy end", network="libera", room="#fedora-admin", at=t(480))
    lines = ended.text.splitlines()
    assert lines[:4] == [
        "Deploy day over: deploy pkgdb2 ended after 8h; 4 incidents, 1 still open; "
        "MTTA 5m, MTTR 38m 20s",
        "2 people checked out. Thank you, firefighters.",
        # then the digest (tests/inprocess/test_digest.py checks it in full): the same
        # figures, the duplicate left out as it counts as its original
        "Digest for deploy pkgdb2: 4 incidents, 1 still open; MTTA 5m (median 4m, p90 8m 12s); "
        "MTTR 38m 20s (median 34m, p90 47m 36s)",
        "most affected: bodhi (1), pkgdb (1), fas (1); 0 follow-ups; 2 people helped",
    ]
    assert lines[4] == "full digest: digest-pkgdb2.md (the path went to alice privately)"
    assert await say("dave", "!oncall", 481) == "nobody is on duty; !checkin <team> to go on duty"
    assert (await say("dave", "!mttr deploy pkgdb2", 481)).splitlines()[0] == (
        "MTTR for deploy pkgdb2: 4 incidents — 1 acknowledged, 3 fixed; 1 duplicate not counted"
    )


async def test_new_incidents_and_fixes_are_announced_elsewhere(tmp_path: Path) -> None:
    bot = await Harness.start(
        tmp_path / "a.sqlite3",
        networks={"libera": ("#a", "#b"), "oftc": ("#c",)},
        admins=["alice@oftc"],
    )
    try:
        said = await bot.say("dave", "!break pkgdb down", network="libera", room="#a")
        assert {(s.network, s.room) for s in said.elsewhere} == {("libera", "#b"), ("oftc", "#c")}
        assert all(
            s.text == "new incident #1 [sev3] pkgdb: down (reported by dave)"
            for s in said.elsewhere
        )
        fixed = await bot.say("alice", "!fixed 1 restarted", network="oftc", room="#c")
        assert {(s.network, s.room) for s in fixed.elsewhere} == {
            ("libera", "#a"),
            ("libera", "#b"),
        }
    finally:
        await bot.close()


async def test_the_bot_answers_when_addressed_by_nick_and_in_private(bot: Harness) -> None:
    assert (await bot.say("dave", "deployday: incidents")).text == "no open incidents"
    assert (await bot.say("dave", "DeployDay, incidents")).text == "no open incidents"
    assert (await bot.say("dave", "incidents", room="dave")).text == "no open incidents"
    assert (await bot.say("dave", "!incidents", room="dave")).text == "no open incidents"
    assert (await bot.say("dave", "just chatting about incidents")).here == []


async def test_listing_what_you_own(bot: Harness) -> None:
    assert (await bot.say("alice", "!incidents mine")).text == "no incidents you own"
    await bot.say("dave", "!break pkgdb down")
    await bot.say("alice", "!take 1")
    assert (await bot.say("alice", "!incidents mine")).text.splitlines()[0] == (
        "1 incident you own"
    )
    assert (await bot.say("alice", "!incidents pkgdb")).text.splitlines()[0] == ("1 pkgdb incident")
    assert (await bot.say("alice", "!incidents koji")).text == "no koji incidents"
