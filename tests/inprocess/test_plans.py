"""Planned deploys on the fake clock: announced everywhere, repeated T-minus exactly once
(across a restart and with two instances on one database), moved and cancelled, picked up
by `!deploy start`, expected responders shown at the start and reminded once; every bad
input is one line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.devtools.harness import Harness

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wed 09:00 in Prague: the planned start
EARLY = T0 - timedelta(days=8)  # Tue 2026-11-17 09:00 in Prague: when it is planned
NET, ADMIN_ROOM, NOC = "libera", "#fedora-admin", "#fedora-noc"
CATALOG = {
    "services": {
        "pkgdb": {"team": "infra", "consumers": {"bodhi": "infra", "koji-scripts": "releng"}}
    }
}
PLAN = "!deploy plan pkgdb2 2026-11-25 09:00 --service pkgdb --api-break packages API v2"
CONSUMERS = (
    "the pkgdb API breaks; known consumers: bodhi (infra), koji-scripts (releng); anyone "
    "else using it: say so now"
)


def reminder(left: str, when: str = "Wed 2026-11-25 09:00 CET") -> str:
    return (
        f"Reminder: deploy pkgdb2 of pkgdb (production) starts in {left}, {when} — API BREAK "
        f"— packages API v2\n{CONSUMERS}"
    )


async def start(
    db: Path, clock: FakeClock, database_url: str | None = None, **config: object
) -> Harness:
    return await Harness.start(
        db,
        clock=clock,
        database_url=database_url,
        admins=["alice@libera"],
        timezone="Europe/Prague",
        networks={NET: (ADMIN_ROOM, NOC)},
        catalog=CATALOG,
        # no job lease: every instance runs the job, and the database alone keeps each
        # announcement to one (the lease would also expire across the clock's jumps)
        coordination={"lease": False},
        **config,
    )


async def jump(bot: Harness, when: datetime) -> None:
    """Move the clock in one jump: each job runs once, as after a pause of the process
    (stepping through every minute of eight days would only make the tests slow)."""
    bot.clock.set(when)
    await bot.app.tracker.settle()


async def say(bot: Harness, who: str, line: str, at: datetime | None = None) -> str:
    if at is not None:
        await jump(bot, at)
    return (await bot.say(who, line, network=NET, room=ADMIN_ROOM)).text


class Noc:
    """What the bot posts in #fedora-noc, read as the clock jumps: the scheduler runs each
    job once per jump, as after a pause of the process."""

    def __init__(self, bot: Harness) -> None:
        self.bot, self.seen = bot, len(bot.transport(NET).sent)

    def posted(self) -> list[str]:
        sent = self.bot.transport(NET).sent
        new = [s.text for s in sent[self.seen :] if s.room == NOC]
        self.seen = len(sent)
        return new

    async def at(self, when: datetime) -> list[str]:
        await jump(self.bot, when)
        return self.posted()


async def test_t_minus_reminders_go_out_once_even_across_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    bot = await start(tmp_path / "p.sqlite3", FakeClock(EARLY), database_url)
    try:
        said = await bot.say("alice", PLAN, network=NET, room=ADMIN_ROOM)
        announcement = (
            "Planned: deploy pkgdb2 of pkgdb (production) on Wed 2026-11-25 09:00 CET, in 8d — "
            f"API BREAK — packages API v2\n{CONSUMERS}\n"
            "planned by alice; !deploy plans lists what is planned"
        )
        assert said.text == announcement
        assert [(s.room, s.text) for s in said.elsewhere] == [(NOC, announcement)]
        noc = Noc(bot)
        assert await noc.at(T0 - timedelta(days=7, minutes=1)) == []
        assert await noc.at(T0 - timedelta(days=7)) == [reminder("7d")]
        assert await noc.at(T0 - timedelta(days=7) + timedelta(minutes=1)) == []
    finally:
        await bot.close()
    # a restart (a new process on the same database) does not say it again
    bot = await start(
        tmp_path / "p.sqlite3", FakeClock(T0 - timedelta(days=7, minutes=-30)), database_url
    )
    try:
        noc = Noc(bot)
        assert await noc.at(T0 - timedelta(days=6)) == []
        assert await noc.at(T0 - timedelta(days=1)) == [reminder("1d")]
        assert await noc.at(T0 - timedelta(minutes=60, seconds=-20)) == [reminder("1h")]
        assert await noc.at(T0 - timedelta(minutes=1)) == []
        assert (await say(bot, "dave", "!deploy plans")).splitlines() == [
            "1 planned deploy",
            "deploy pkgdb2 of pkgdb (production) on Wed 2026-11-25 09:00 CET (in 1m) — "
            "API BREAK; planned by alice",
        ]
    finally:
        await bot.close()


async def test_reminders_missed_while_the_bot_was_away_come_once(tmp_path: Path) -> None:
    bot = await start(tmp_path / "p.sqlite3", FakeClock(EARLY))
    try:
        await say(bot, "alice", PLAN)
        noc = Noc(bot)
        # down from before T-7d until after T-1d: only the latest is posted
        assert await noc.at(T0 - timedelta(hours=20)) == [reminder("20h")]
        assert await noc.at(T0 - timedelta(hours=1)) == [reminder("1h")]
    finally:
        await bot.close()


async def test_two_instances_on_one_database_post_each_reminder_once(
    tmp_path: Path, database_url: str
) -> None:
    db = tmp_path / "p.sqlite3"
    bots = [await start(db, FakeClock(EARLY), database_url) for _ in range(2)]
    try:
        await say(bots[0], "alice", PLAN)
        nocs = [Noc(b) for b in bots]
        for when in (T0 - timedelta(days=7), T0 - timedelta(days=1), T0 - timedelta(hours=1)):
            for b in bots:
                b.clock.set(when)
            await asyncio.gather(*(b.app.tracker.settle() for b in bots))
        posted = [text for noc in nocs for text in noc.posted()]
        assert sorted(posted) == sorted([reminder("7d"), reminder("1d"), reminder("1h")])
    finally:
        for b in bots:
            await b.close()


async def test_moving_rearms_the_reminders_and_cancelling_stops_them(tmp_path: Path) -> None:
    bot = await start(tmp_path / "p.sqlite3", FakeClock(EARLY))
    try:
        await say(bot, "alice", PLAN)
        said = await bot.say(
            "alice", "!deploy move pkgdb2 2026-11-26 09:00", network=NET, room=ADMIN_ROOM
        )
        moved = (
            "Moved: deploy pkgdb2 of pkgdb (production) now on Thu 2026-11-26 09:00 CET (was "
            f"Wed 2026-11-25 09:00 CET) — API BREAK — packages API v2\n{CONSUMERS}"
        )
        assert said.text == moved and [s.text for s in said.elsewhere] == [moved]
        noc = Noc(bot)
        assert await noc.at(T0 - timedelta(days=7)) == []  # that was the old time's T-7d
        assert await noc.at(T0 - timedelta(days=6)) == [reminder("7d", "Thu 2026-11-26 09:00 CET")]
        # moved back: T-7d of the 25th passed before this move announced it, so only
        # T-1d and T-1h remain
        await say(bot, "alice", "!deploy move pkgdb2 2026-11-25 09:00", at=T0 - timedelta(days=5))
        noc.posted()
        assert await noc.at(T0 - timedelta(days=1)) == [reminder("1d")]
        cancelled = await say(bot, "alice", "!deploy cancel pkgdb2", at=T0 - timedelta(hours=2))
        assert cancelled == (
            "Cancelled: deploy pkgdb2 of pkgdb (production), planned for Wed 2026-11-25 09:00 "
            "CET, is off"
        )
        noc.posted()
        assert await noc.at(T0 - timedelta(hours=1)) == []
        assert await say(bot, "dave", "!deploy plans") == (
            "no deploy is planned; an admin plans one with !deploy plan <name> <date/time> "
            "[--api-break] [description]"
        )
    finally:
        await bot.close()


async def test_bad_input_is_one_line_each(tmp_path: Path) -> None:
    bot = await start(tmp_path / "p.sqlite3", FakeClock(EARLY))
    try:
        forms = "2026-11-25 09:00, 2026-11-25T09:00Z, tomorrow 09:00, 09:00 (today) or +2h"
        usage = (
            "usage: !deploy plan <name> <date/time> [--api-break] [--env NAME] "
            "[--service NAME] [description…]"
        )
        for line, answer in [
            ("!deploy plan pkgdb2", f"missing <when…>; {usage}"),
            ("!deploy plan pkgdb2 soonish", f"I can't read 'soonish' as a time; say {forms}"),
            (
                "!deploy plan pkgdb2 2026-11-01 09:00 --service pkgdb",
                "Sun 2026-11-01 09:00 CET is in the past (it is Tue 2026-11-17 09:00 CET now); "
                "plan a later time",
            ),
            ("!deploy plan pkgdb2 2026-11-25", "say the time too, like 2026-11-25 09:00"),
            (
                "!deploy plan " + "x" * 65 + " +1h",
                "a deploy name is up to 64 letters, digits, '.', '-', '_' or '/', starting with "
                f"a letter or digit; got '{'x' * 40}'",
            ),
            (
                "!deploy plan pkgdb2 +1h --service pkgdb " + "d" * 501,
                "the description is 501 characters; keep it under 500",
            ),
            (
                "!deploy plan pkgdb2 tomorrow 09:00",
                "pkgdb2 is not a service in the catalogue (pkgdb); say which it changes with "
                "--service <name>",
            ),
            (
                "!deploy plan pkgdb2 tomorrow 09:00 --service koji",
                "koji is not a service in the catalogue (pkgdb)",
            ),
            (
                "!deploy plan pkgdb2 tomorrow 09:00 --service pkgdb --env prod/eu",
                "an environment is up to 32 letters, digits, '.', '-' or '_', starting with a "
                "letter or digit (production, staging); got 'prod/eu'",
            ),
            (
                "!deploy move pkgdb2 tomorrow 09:00",
                "no deploy named pkgdb2 is planned; !deploy plans lists them",
            ),
            (
                "!deploy cancel pkgdb2",
                "no deploy named pkgdb2 is planned; !deploy plans lists them",
            ),
            (
                "!deploy expect pkgdb2 releng",
                "no deploy named pkgdb2 is planned; !deploy plans lists them",
            ),
        ]:
            assert await say(bot, "alice", line) == f"alice: {answer}", line
        assert await say(bot, "dave", PLAN) == (
            "dave: !deploy plan is for admins only (admins are listed in the bot's config)"
        )
        await say(bot, "alice", PLAN)
        for line, answer in [
            (
                PLAN,
                "deploy pkgdb2 is already planned for Wed 2026-11-25 09:00 CET; "
                "!deploy move pkgdb2 <when> changes it",
            ),
            (
                "!deploy move pkgdb2 2026-11-25 09:00",
                "deploy pkgdb2 is already planned for Wed 2026-11-25 09:00 CET",
            ),
            ("!deploy move pkgdb2 +1h now", "unexpected 'now' after the time"),
        ]:
            assert await say(bot, "alice", line) == f"alice: {answer}", line
        # a plan for a service already mid-deploy
        await say(bot, "alice", "!deploy start pkgdb")
        assert await say(bot, "alice", "!deploy plan pkgdb3 +2h --service pkgdb") == (
            "alice: pkgdb is mid-deploy (deploy pkgdb, under way since Tue 2026-11-17 09:00 "
            "CET); plan the next one after !deploy end"
        )
        assert await say(bot, "alice", "!deploy expect pkgdb releng") == (
            "alice: deploy pkgdb was not planned, so it has no expected responders; plan the "
            "next one with !deploy plan"
        )
    finally:
        await bot.close()


async def test_deploy_start_picks_up_the_plan(tmp_path: Path) -> None:
    bot = await start(tmp_path / "p.sqlite3", FakeClock(EARLY))
    try:
        await say(bot, "alice", PLAN)
        await say(bot, "alice", "!roster add bob infra")
        await say(bot, "alice", "!roster add carol releng")
        await say(bot, "bob", "!checkin", at=T0 - timedelta(minutes=5))
        await jump(bot, T0)
        said = await bot.say("alice", "!deploy start pkgdb2", network=NET, room=ADMIN_ROOM)
        assert said.text.splitlines() == [
            "Deploy day: deploy pkgdb2 started by alice — API BREAK — packages API v2",
            "Firefighters: !checkin <team> to go on duty; report breakage with !break <service> "
            "<what broke>",
            # pkgdb is essential: its consumers' teams are paged
            "bob, carol: API break in pkgdb: paging the teams of its known consumers — infra "
            "(bodhi): bob "
            "(on duty); releng (koji-scripts): carol",
        ]
        assert [s.text for s in said.elsewhere] == [s.text for s in said.here]
        assert (await say(bot, "dave", "!deploy plans")).startswith("no deploy is planned")
        # the plan said production: a report on staging is flagged
        assert (await say(bot, "dave", "!break koji-scripts --env stg mass rebuild fails")) == (
            "#1 opened: [sev3] koji-scripts: mass rebuild fails (stg) — !take 1 to own it\n"
            "pointed at staging? #1 is on stg during production deploy pkgdb2; a ported script "
            "may still use staging"
        )
        await say(bot, "alice", "!deploy end", at=T0 + timedelta(hours=1))
        # the plan was used up: the same name again is an ordinary, unplanned deploy
        again = await say(bot, "alice", "!deploy start pkgdb2", at=T0 + timedelta(hours=2))
        assert again.splitlines()[0] == "Deploy day: deploy pkgdb2 started by alice"
        assert (await say(bot, "dave", "!break koji-scripts --env stg still")).endswith(
            "— !take 2 to own it"
        )
    finally:
        await bot.close()


async def test_expected_responders_are_shown_at_the_start_and_reminded_once(
    tmp_path: Path,
) -> None:
    bot = await start(tmp_path / "p.sqlite3", FakeClock(EARLY))
    try:
        await say(bot, "alice", PLAN)
        for who, team in (("bob", "infra"), ("carol", "releng"), ("erin", "docs")):
            await say(bot, "alice", f"!roster add {who} {team}")
        assert await say(bot, "alice", "!deploy expect pkgdb2 infra releng, docs qa dave") == (
            "deploy pkgdb2 expects infra, releng, docs, qa, dave; at its start I show who is on "
            "duty and remind the others 10 minutes in"
        )
        assert await say(bot, "alice", "!deploy expect pkgdb2 docs dave") == (
            "deploy pkgdb2 expects infra, releng, docs, qa, dave; at its start I show who is on "
            "duty and remind the others 10 minutes in"
        )
        await say(bot, "bob", "!checkin", at=T0 - timedelta(minutes=5))
        said = await say(bot, "alice", "!deploy start pkgdb2", at=T0)
        assert said.splitlines()[-2:] == [
            "Expected on duty for deploy pkgdb2 — checked in: infra (bob); not yet: releng, "
            "docs, qa, dave",
            "I remind those not on duty at 09:10 CET; !checkin <team> to go on duty",
        ]
        await say(bot, "carol", "!checkin", at=T0 + timedelta(minutes=2))
        noc = Noc(bot)
        assert await noc.at(T0 + timedelta(minutes=9)) == []
        assert await noc.at(T0 + timedelta(minutes=10)) == [
            "erin, dave: Reminder: deploy pkgdb2 expects you on duty: docs (erin); qa (nobody on "
            "its roster); "
            "dave — !checkin <team> when you are reachable"
        ]
        [sent] = [s for s in bot.transport(NET).sent if s.room == NOC][-1:]
        assert [m.name for m in sent.reply.mentions] == ["erin", "dave"]
        assert await say(bot, "alice", "!deploy expect pkgdb2 frank") == (
            "deploy pkgdb2 expects infra, releng, docs, qa, dave, frank; it is under way: "
            "!oncall shows who is on duty"
        )
    finally:
        await bot.close()
    bot = await start(tmp_path / "p.sqlite3", FakeClock(T0 + timedelta(minutes=11)))
    try:
        await say(bot, "erin", "!checkin", at=T0 + timedelta(minutes=20))
        noc = Noc(bot)
        assert await noc.at(T0 + timedelta(minutes=40)) == []  # once, even after a restart
        said = await bot.say(
            "alice", "!deploy end", network=NET, room=ADMIN_ROOM, at=T0 + timedelta(hours=1)
        )
    finally:
        await bot.close()
    digest = (tmp_path / "digests" / "digest-pkgdb2.md").read_text()
    section = digest[digest.index("## Expected responders") : digest.index("## Unknown")]
    assert section == (
        "## Expected responders\n"
        "\n"
        "| expected | reached | on duty | reminded |\n"
        "|---|---|---|---|\n"
        "| infra | 09:00 | bob | — |\n"
        "| releng | 09:02 | carol | — |\n"
        "| docs | 09:20 | erin | 09:10 |\n"
        "| qa | not reached | — | 09:10 |\n"
        "| dave | not reached | — | 09:10 |\n"
        "| frank | not reached | — | — |\n"  # named after the reminder went out
        "\n"
    )
    assert said.text.splitlines()[2] == (
        "Digest for deploy pkgdb2: 0 incidents, 0 still open; MTTA —; MTTR —"
    )
