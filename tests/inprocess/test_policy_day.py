"""A planned API-breaking deploy day played by the policy: the essential service's
consumers are paged at the start, expected responders are shown and reminded, an unknown
consumer and a staging mix-up occur, and the digest reports them with exact figures.

Times (minutes after 09:00 Prague, 08:00 UTC):
- planned the day before; infra, releng and docs are expected; bob is on duty from -5;
- #1 pkgdb, consumer fedora-review (unknown): reported 8 by dave, bob takes 12, fixed 40;
- #2 koji-scripts on stg (a mix-up): reported 10 by carol, she takes 14, fixes 30 (TTR 20m);
- #3 pkgdb, consumer docs (known): reported 15 by erin, taken 50, fixed 55;
- #4 pkgdb on stg, consumer fedora-review again: reported 25 by dave, still open;
- carol checks in at 2, erin (docs) only at 20, after the reminder at 10;
- alice records fedora-review at 36; the deploy ends at 90.
TTA over [4m, 4m, 35m]: mean 14m 20s, median 4m, p90 28m 48s.
TTR over [32m, 20m, 40m]: mean 30m 40s, median 32m, p90 38m 24s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.devtools.harness import Harness

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
NET, ROOM = "libera", "#fedora-admin"
CATALOG = {
    "services": {
        "pkgdb": {
            "team": "infra",
            "consumers": {"bodhi": "infra", "koji-scripts": "releng", "docs": "docs"},
        },
        "badges": {"criticality": "leaf", "team": "infra", "consumers": {"fedmsg": "infra"}},
    }
}
SCRIPT: list[tuple[int, str, str]] = [
    (-1440, "alice", "!roster add bob infra"),
    (-1440, "alice", "!roster add carol releng"),
    (-1440, "alice", "!roster add erin docs"),
    (-1440, "alice", "!deploy plan pkgdb2 tomorrow 09:00 --service pkgdb --api-break v2 API"),
    (-1440, "alice", "!deploy expect pkgdb2 infra releng docs"),
    (-5, "bob", "!checkin"),
    (0, "alice", "!deploy start pkgdb2"),
    (2, "carol", "!checkin"),
    (8, "dave", "!break pkgdb --consumer fedora-review review tool gets 410 Gone"),
    (10, "carol", "!break koji-scripts --env stg mass rebuild still points at staging"),
    (12, "bob", "!take 1"),
    (14, "carol", "!take 2"),
    (15, "erin", "!break pkgdb --consumer docs API examples use v1"),
    (20, "erin", "!checkin"),
    (25, "dave", "!break pkgdb --consumer Fedora-Review --env stg review tool on staging too"),
    (30, "carol", "!fixed 2 pointed the script at production"),
    (36, "alice", "!catalog add-consumer pkgdb fedora-review qa"),
    (40, "bob", "!fixed 1 review tool ported to v2"),
    (50, "erin", "!take 3"),
    (55, "erin", "!fixed 3 examples updated"),
]
END = 90


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def start(db: Path, **config: object) -> Harness:
    return await Harness.start(
        db,
        clock=FakeClock(t(-1440)),
        admins=["alice@libera"],
        timezone="Europe/Prague",
        networks={NET: (ROOM,)},
        catalog=CATALOG,
        **config,
    )


async def play(bot: Harness) -> dict[str, str]:
    """The day, the clock jumping from line to line (each job runs once per jump, as after
    a pause); what each line was answered, after anything the bot posted on the way."""
    sent = bot.transport(NET).sent
    answers = {}
    for minute, who, line in SCRIPT:
        before = len(sent)
        bot.clock.set(t(minute))
        await bot.app.tracker.settle()
        said = await bot.say(who, line, network=NET, room=ROOM)
        assert not said.text.startswith(f"{who}:"), f"{line!r} was refused: {said.text}"
        answers[line] = "\n".join(s.text for s in sent[before:] if s.room == ROOM)
    return answers


EXPECTED_SECTIONS = """\
## Expected responders

| expected | reached | on duty | reminded |
|---|---|---|---|
| infra | 09:00 | bob | — |
| releng | 09:02 | carol | — |
| docs | 09:20 | erin | 09:10 |

## Unknown consumers discovered

Named in incidents but not in the catalogue for that service; add them (`catalog \
add-consumer`) so the next API break pages them.

| consumer | service | incidents | first reported | by | in catalogue |
|---|---|---|---|---|---|
| fedora-review | pkgdb | #1, #4 | 09:08 | dave | added by alice |

## Staging mix-ups

Reported on a staging environment during this production deploy: pointed at staging?

| # | service | environment | consumer | reported | by | status | TTR |
|---|---|---|---|---|---|---|---|
| #2 | koji-scripts | stg | — | 09:10 | carol | fixed | 20m |
| #4 | pkgdb | stg | fedora-review | 09:25 | dave | open | — |

"""


async def test_a_planned_api_break_day_and_its_digest(tmp_path: Path) -> None:
    bot = await start(tmp_path / "day.sqlite3")
    try:
        answers = await play(bot)
        started = answers["!deploy start pkgdb2"].splitlines()
        assert started[2:] == [
            "erin, bob, carol: API break in pkgdb: paging the teams of its known consumers — "
            "docs (docs): erin; "
            "infra (bodhi): bob (on duty); releng (koji-scripts): carol",
            "Expected on duty for deploy pkgdb2 — checked in: infra (bob); not yet: releng, docs",
            "I remind those not on duty at 09:10 CET; !checkin <team> to go on duty",
        ]
        assert answers[SCRIPT[8][2]] == (
            "#1 opened: [sev3] pkgdb: review tool gets 410 Gone (consumer fedora-review) — "
            "!take 1 to own it\n"
            "fedora-review is not a known consumer of pkgdb: noted for the digest; an admin "
            "records it with !catalog add-consumer pkgdb fedora-review <team>"
        )
        # the reminder to the expected responders went out as the clock passed 09:10
        assert answers[SCRIPT[9][2]] == (
            "erin: Reminder: deploy pkgdb2 expects you on duty: docs (erin) — !checkin <team> when "
            "you are reachable\n"
            "#2 opened: [sev3] koji-scripts: mass rebuild still points at staging (stg) — "
            "!take 2 to own it\n"
            "pointed at staging? #2 is on stg during production deploy pkgdb2; a ported script "
            "may still use staging"
        )
        assert answers[SCRIPT[12][2]] == (
            "#3 opened: [sev3] pkgdb: API examples use v1 (consumer docs) — !take 3 to own it"
        )
        assert (await bot.say("erin", "!consumers", network=NET, room=ROOM)).text == (
            "2 consumers hit today (0 unknown)\n"
            "known: docs (pkgdb #3); fedora-review (pkgdb #1, #4)"
        )
        said = await bot.say("alice", "!deploy end", at=t(END), network=NET, room=ROOM)
    finally:
        await bot.close()
    assert said.text.splitlines()[2:4] == [
        "Digest for deploy pkgdb2: 4 incidents, 1 still open; MTTA 14m 20s (median 4m, p90 "
        "28m 48s); MTTR 30m 40s (median 32m, p90 38m 24s)",
        "most affected: pkgdb (3), koji-scripts (1); 1 unknown consumer; 2 staging mix-ups; "
        "0 follow-ups; 3 people helped",
    ]
    digest = (tmp_path / "digests" / "digest-pkgdb2.md").read_text()
    assert "- **Planned for**: 2026-11-25 09:00\n- **Started**: 2026-11-25 09:00 by alice\n" in (
        digest
    )
    assert digest[digest.index("## Expected") : digest.index("## Follow-ups")] == (
        EXPECTED_SECTIONS
    )


def test_the_json_digest_has_the_policy_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    async def day() -> None:
        bot = await start(tmp_path / "day.sqlite3")
        try:
            await play(bot)
            await bot.say("alice", "!deploy end", at=t(END), network=NET, room=ROOM)
        finally:
            await bot.close()

    asyncio.run(day())
    config = tmp_path / "config.yaml"
    config.write_text("database: sqlite:///day.sqlite3\ntimezone: Europe/Prague\n")
    out = tmp_path / "d.json"
    assert main(["digest", "-c", str(config), "--format", "json", "-o", str(out)]) == 0
    capsys.readouterr()
    doc = json.loads(out.read_text())
    assert doc["planned_for"] == "2026-11-25T08:00:00Z"
    assert doc["expected_responders"] == [
        {"name": "infra", "reached_at": "2026-11-25T08:00:00Z", "by": "bob", "reminded_at": None},
        {
            "name": "releng",
            "reached_at": "2026-11-25T08:02:00Z",
            "by": "carol",
            "reminded_at": None,
        },
        {
            "name": "docs",
            "reached_at": "2026-11-25T08:20:00Z",
            "by": "erin",
            "reminded_at": "2026-11-25T08:10:00Z",
        },
    ]
    assert doc["unknown_consumers"] == [
        {
            "consumer": "fedora-review",
            "service": "pkgdb",
            "numbers": [1, 4],
            "first_reported_at": "2026-11-25T08:08:00Z",
            "reporter": "dave",
            "added_by": "alice",
        }
    ]
    assert [(m["number"], m["ttr_seconds"]) for m in doc["staging_mixups"]] == [
        (2, 1200),
        (4, None),
    ]


@pytest.mark.parametrize(
    ("routine", "line"),
    [
        ("list", "badges is a leaf service: its known consumers are not paged: fedmsg (infra)"),
        (
            "page",
            "bob: API break in badges: paging the teams of its known consumers — infra (fedmsg): "
            "bob",
        ),
        ("skip", None),
    ],
)
async def test_a_leaf_service_gets_the_lighter_routine(
    tmp_path: Path, routine: str, line: str | None
) -> None:
    catalog = {**CATALOG, "leaf_routine": routine}
    bot = await Harness.start(
        tmp_path / "l.sqlite3", admins=["alice@libera"], catalog=catalog, networks={NET: (ROOM,)}
    )
    try:
        await bot.say("alice", "!roster add bob infra", network=NET, room=ROOM)
        said = await bot.say("alice", "!deploy start badges --api-break", network=NET, room=ROOM)
        assert said.text.splitlines()[2:] == ([line] if line else [])
        await bot.say("alice", "!deploy end", network=NET, room=ROOM)
        # without an API break, nobody is paged
        said = await bot.say("alice", "!deploy start pkgdb", network=NET, room=ROOM)
        assert len(said.text.splitlines()) == 2
        await bot.say("alice", "!deploy end", network=NET, room=ROOM)
        said = await bot.say("alice", "!deploy start fas --api-break", network=NET, room=ROOM)
        assert len(said.text.splitlines()) == 2  # not in the catalogue: nothing to page
    finally:
        await bot.close()


async def test_the_catalogue_in_chat(tmp_path: Path) -> None:
    bot = await Harness.start(
        tmp_path / "c.sqlite3", admins=["alice@libera"], catalog=CATALOG, networks={NET: (ROOM,)}
    )

    async def say(who: str, line: str) -> str:
        return (await bot.say(who, line, network=NET, room=ROOM)).text

    try:
        assert await say("dave", "!catalog") == (
            "2 services: badges (leaf; 1 consumer), pkgdb (essential; 3 consumers)"
        )
        assert await say("alice", "!catalog add-consumer pkgdb qa") == (
            "qa is now a known consumer of pkgdb; the next API break of pkgdb pages qa"
        )
        assert await say("alice", "!catalog add-consumer mirrors mirrormanager infra") == (
            "mirrormanager is now a known consumer of mirrors; the next API break of mirrors "
            "pages infra"
        )
        assert await say("dave", "!catalog mirrors") == (
            "mirrors: essential; consumers: mirrormanager (infra; added by alice 09:00 UTC)"
        )
        for line, answer in [
            (
                "!catalog add-consumer pkgdb bodhi infra",
                "bodhi is already a known consumer of pkgdb (in the config, team infra)",
            ),
            (
                "!catalog add-consumer pkgdb qa",
                "qa is already a known consumer of pkgdb (added by alice, team qa)",
            ),
            (
                "!catalog add-consumer pkgdb review",
                "say which team to page for review: !catalog "
                "add-consumer pkgdb review <team> (infra, releng, docs, qa)",
            ),
            (
                "!catalog add-consumer pkgdb review ops",
                "unknown team 'ops'; teams are infra, releng, docs, qa",
            ),
            (
                "!catalog add-consumer pkgdb re$view qa",
                "a consumer name is up to 64 letters, "
                "digits, '.', '-', '_' or '/', starting with a letter or digit; got 're$view'",
            ),
            (
                "!break pkgdb --consumer re$view down",
                "a consumer name is up to 64 letters, "
                "digits, '.', '-', '_' or '/', starting with a letter or digit; got 're$view'",
            ),
        ]:
            assert await say("alice", line) == f"alice: {answer}", line
        assert await say("dave", "!catalog add-consumer pkgdb review qa") == (
            "dave: !catalog add-consumer is for admins only (admins are listed in the bot's config)"
        )
        assert await say("dave", "!catalog nosuch") == (
            "nosuch is not in the catalogue; !catalog lists it"
        )
        assert await say("dave", "!consumers") == (
            "no incident named a consumer today; !break <service> --consumer <who> <what broke> "
            "names one"
        )
    finally:
        await bot.close()
