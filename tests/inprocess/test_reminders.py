"""Reminders and scheduled summaries on the fake clock: who gets nagged when, never twice
within an interval (not even across a restart), and one line when nobody is on duty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.harness import Harness

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
REMINDERS = {
    "enabled": True,
    "check_every": 1,
    "unowned_after": {"sev1": 5, "sev2": 10, "sev3": 20, "sev4": 60},
    "idle_after": {"sev1": 15, "sev2": 30, "sev3": 45, "sev4": 120},
    "stale_after": {"sev1": 20, "sev2": 30, "sev3": 60, "sev4": 180},
    "nobody_on_duty_every": 30,
    "service_teams": {"koji": "releng"},
}


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def start(db: Path, clock: FakeClock, **reminders: object) -> Harness:
    return await Harness.start(
        db,
        clock=clock,
        admins=["alice"],
        networks={"test": ("#ops", "#noc")},
        reminders={**REMINDERS, **reminders},
    )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await start(tmp_path / "r.sqlite3", FakeClock(T0))
    yield harness
    await harness.close()


class Log:
    """Collects what the bot posts in a room, stamped with the fake time it was sent."""

    def __init__(self, bot: Harness, room: str = "#noc") -> None:
        self.bot, self.room, self.seen = bot, room, len(bot.transport().sent)

    async def advance_to(self, minute: float) -> list[tuple[float, str]]:
        got: list[tuple[float, str]] = []
        while self.bot.clock.now() < t(minute):
            await self.bot.advance(minutes=1)
            sent = self.bot.transport().sent
            for s in sent[self.seen :]:
                if s.room == self.room:
                    got.append(((self.bot.clock.now() - T0) / timedelta(minutes=1), s.text))
            self.seen = len(sent)
        return got


async def test_unowned_then_stale_then_idle(bot: Harness) -> None:
    await bot.say("alice", "!deploy start pkgdb2", at=t(0))
    await bot.say("alice", "!roster add bob infra")
    await bot.say("alice", "!roster add carol releng")
    await bot.say("bob", "!checkin")
    await bot.say("carol", "!checkin")
    await bot.say("dave", "!break pkgdb API returns 500", at=t(2))
    await bot.say("dave", "!break koji --sev 1 builds stuck", at=t(3))
    log = Log(bot)
    assert await log.advance_to(30) == [
        (
            8,
            "carol: #2 [sev1] koji: builds stuck has had no owner for 5m — you are on "
            "duty for releng: !take 2 to own it",
        ),
        (
            13,
            "carol: #2 [sev1] koji: builds stuck has had no owner for 10m — you are on "
            "duty for releng: !take 2 to own it",
        ),
        (
            18,
            "carol: #2 [sev1] koji: builds stuck has had no owner for 15m — you are on "
            "duty for releng: !take 2 to own it",
        ),
        # pkgdb has no team in service_teams: everyone on duty is named
        (
            22,
            "bob, carol: #1 [sev3] pkgdb: API returns 500 has had no owner for 20m — you are "
            "on duty: !take 1 to own it",
        ),
        (
            23,
            "carol: #2 [sev1] koji: builds stuck has had no owner for 20m — you are on "
            "duty for releng: !take 2 to own it",
        ),
        (
            28,
            "carol: #2 [sev1] koji: builds stuck has had no owner for 25m — you are on "
            "duty for releng: !take 2 to own it",
        ),
    ]
    log.seen = len(bot.transport().sent)
    await bot.say("bob", "!take 1", at=t(30))
    await bot.say("carol", "!ack 2", at=t(30))
    assert await log.advance_to(100) == [
        (
            45,
            "carol: #2 [sev1] koji: builds stuck was acknowledged but nobody owns it; no "
            "update for 15m — you are on duty for releng: !take 2 to own it",
        ),
        (
            60,
            "carol: #2 [sev1] koji: builds stuck was acknowledged but nobody owns it; no "
            "update for 30m — you are on duty for releng: !take 2 to own it",
        ),
        (
            75,
            "carol: #2 [sev1] koji: builds stuck was acknowledged but nobody owns it; no "
            "update for 45m — you are on duty for releng: !take 2 to own it",
        ),
        # one reply, worst severity first
        (
            90,
            "carol: #2 [sev1] koji: builds stuck was acknowledged but nobody owns it; no "
            "update for 1h — you are on duty for releng: !take 2 to own it\n"
            "bob: #1 [sev3] pkgdb: API returns 500 has had no update for 1h; "
            "!note 1 <progress> or !fixed 1",
        ),
    ]


async def test_reminders_go_to_every_announcement_room_by_default(bot: Harness) -> None:
    await bot.say("alice", "!deploy start pkgdb2", at=t(0))
    await bot.say("alice", "!checkin infra")
    await bot.say("dave", "!break pkgdb --sev 1 down", at=t(1))
    await bot.advance(minutes=5)
    reminders = [s for s in bot.transport().sent if "no owner" in s.text]
    assert sorted(s.room for s in reminders) == ["#noc", "#ops"]


async def test_a_restart_does_not_repeat_a_reminder_within_its_interval(tmp_path: Path) -> None:
    db, clock = tmp_path / "restart.sqlite3", FakeClock(T0)
    bot = await start(db, clock)
    try:
        await bot.say("alice", "!deploy start pkgdb2", at=t(0))
        await bot.say("alice", "!checkin infra")
        await bot.say("dave", "!break pkgdb --sev 2 down", at=t(1))
        assert [m for _, m in await Log(bot).advance_to(15)] == [
            "alice: #1 [sev2] pkgdb: down has had no owner for 10m — you are on duty: "
            "!take 1 to own it"
        ]
    finally:
        await bot.close()
    bot = await start(db, clock)  # sent at 11; restarted at 15: the next one is due at 21
    try:
        log = Log(bot)
        assert await log.advance_to(25) == [
            (
                21,
                "alice: #1 [sev2] pkgdb: down has had no owner for 20m — you are on duty: "
                "!take 1 to own it",
            )
        ]
    finally:
        await bot.close()


async def test_nobody_on_duty_is_one_line_not_a_flood(bot: Harness) -> None:
    await bot.say("alice", "!deploy start pkgdb2", at=t(0))
    await bot.say("dave", "!break pkgdb --sev 1 down", at=t(1))
    await bot.say("dave", "!break koji --sev 1 stuck", at=t(1))
    log = Log(bot)
    assert await log.advance_to(40) == [
        (
            6,
            "2 incidents need attention but nobody is on duty; !checkin <team> to go on "
            "duty, !incidents to see them",
        ),
        (
            36,
            "2 incidents need attention but nobody is on duty; !checkin <team> to go on "
            "duty, !incidents to see them",
        ),
    ]
    await bot.say("alice", "!checkin infra", at=t(40))
    [(_, both)] = await log.advance_to(42)
    assert [line.split(" — ")[0] for line in both.splitlines()] == [
        "alice: #1 [sev1] pkgdb: down has had no owner for 40m",
        "alice: #2 [sev1] koji: stuck has had no owner for 40m",
    ]


async def test_no_reminders_without_a_deploy_or_when_disabled(tmp_path: Path) -> None:
    bot = await start(tmp_path / "a.sqlite3", FakeClock(T0))
    try:
        await bot.say("dave", "!break pkgdb --sev 1 down", at=t(0))
        assert await Log(bot).advance_to(30) == []  # no deploy under way
    finally:
        await bot.close()
    bot = await start(tmp_path / "b.sqlite3", FakeClock(T0), enabled=False)
    try:
        await bot.say("alice", "!deploy start pkgdb2", at=t(0))
        await bot.say("dave", "!break pkgdb --sev 1 down", at=t(0))
        assert await Log(bot).advance_to(30) == []
    finally:
        await bot.close()


async def test_scheduled_summaries_only_while_a_deploy_has_incidents(tmp_path: Path) -> None:
    bot = await start(
        tmp_path / "s.sqlite3",
        FakeClock(T0),
        enabled=False,
        summary_every=60,
        summary_rooms={"test": ["#summaries"]},
    )
    try:
        log = Log(bot, "#summaries")
        await bot.say("alice", "!deploy start pkgdb2", at=t(0))
        assert await log.advance_to(65) == []  # a deploy, but nothing to summarize
        await bot.say("alice", "!checkin infra", at=t(65))
        await bot.say("dave", "!break pkgdb down", at=t(70))
        await bot.say("alice", "!take 1", at=t(73))
        await bot.say("alice", "!fixed 1", at=t(90))
        assert await log.advance_to(125) == [
            (
                120,
                "MTTR for deploy pkgdb2: 1 incident — 1 fixed\n"
                "time to acknowledge: n=1, mean 3m, median 3m, p90 3m\n"
                "time to repair: n=1, mean 20m, median 20m, p90 20m",
            ),
        ]
        await bot.say("alice", "!deploy end", at=t(130))
        assert await log.advance_to(200) == []
    finally:
        await bot.close()
