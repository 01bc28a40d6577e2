"""How the bot behaves in a shared channel: a mistyped subcommand gets "did you mean" like
a mistyped command, `!roster` lists the roster, and clock times say their zone once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.harness import Harness

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Prague (CET)


@pytest.fixture
async def prague(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await Harness.start(
        tmp_path / "bot.sqlite3",
        admins=["alice"],
        clock=FakeClock(T0),
        timezone="Europe/Prague",
        teams=["infra", "releng", "docs"],
    )
    yield harness
    await harness.close()


async def say(bot: Harness, nick: str, text: str) -> str:
    return (await bot.say(nick, text)).text


async def test_a_mistyped_subcommand_gets_did_you_mean_for_every_group(bot: Harness) -> None:
    assert await say(bot, "alice", "!deploy strat pkgdb2") == (
        "alice: unknown command !deploy strat; did you mean !deploy start? "
        "!help deploy lists them all"
    )
    assert await say(bot, "alice", "!roster ad bob infra") == (
        "alice: unknown command !roster ad; did you mean !roster add? !help roster lists them all"
    )
    assert await say(bot, "alice", "!catalog ad-consumer pkgdb fedora-review qa") == (
        "alice: unknown command !catalog ad-consumer; did you mean !catalog add-consumer? "
        "!help catalog lists them all"
    )
    assert await say(bot, "dave", "!deploy xyzzy") == (
        "dave: unknown command !deploy xyzzy; !help deploy lists them all"
    )
    # the group's own command still takes its arguments
    assert await say(bot, "dave", "!catalog pkgdb") == (
        "pkgdb is not in the catalogue; !catalog lists it"
    )
    assert await say(bot, "dave", "!catalog pkgdb extra") == (
        "dave: unexpected 'extra'; usage: !catalog [service]"
    )


async def test_a_list_name_mistyped_as_a_service(bot: Harness) -> None:
    await bot.say("dave", "!break koji builds stuck")
    assert await say(bot, "dave", "!incidents opne") == (
        "no incidents of a service opne; did you mean !incidents open?"
    )
    assert await say(bot, "dave", "!incidents pkgdb") == "no pkgdb incidents"
    assert (await say(bot, "dave", "!incidents koji")).startswith("1 koji incident")


async def test_the_roster_by_team_with_who_is_on_duty_since_when(prague: Harness) -> None:
    assert await say(prague, "dave", "!roster") == (
        "nobody is on the roster; an admin adds people with !roster add <who> <team>"
    )
    for line in ("!roster add bob infra", "!roster add carol infra", "!roster add dave releng"):
        await prague.say("alice", line)
    await prague.say("bob", "!checkin", at=T0 + timedelta(minutes=12))
    await prague.say("dave", "!checkin", at=T0 + timedelta(minutes=20))
    await prague.say("dave", "!checkout", at=T0 + timedelta(minutes=50))
    assert (await prague.say("carol", "!roster", at=T0 + timedelta(hours=1))).text.splitlines() == [
        "infra: bob (on duty since 09:12 CET), carol (not checked in yet)",
        "releng: dave (off duty since 09:50)",
        "docs: nobody",
    ]


async def test_clock_times_carry_the_zone_once_per_reply(prague: Harness) -> None:
    await prague.say("alice", "!deploy start pkgdb2")
    await prague.say("alice", "!checkin infra", at=T0 + timedelta(minutes=3))
    await prague.say("alice", "!break pkgdb API down", at=T0 + timedelta(minutes=5))
    await prague.say("alice", "!take 1", at=T0 + timedelta(minutes=7))
    assert await say(prague, "dave", "!oncall") == "on duty: infra: alice (since 09:03 CET)"
    assert (await say(prague, "dave", "!deploy")).startswith(
        "deploy pkgdb2 under way since 09:00 CET (7m)"
    )
    assert (await say(prague, "dave", "!show 1")).splitlines()[1:] == [
        "09:05 CET alice reported it (sev3) on test",
        "09:07 alice took it",
    ]
