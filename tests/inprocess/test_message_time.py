"""Incident events are timed when the network says the message was said, not when the bot
got to it (a command that waited while the bot was down), within a sanity bound."""

from __future__ import annotations

from datetime import timedelta

from bot.devtools.harness import Harness


async def test_an_event_is_timed_when_it_was_said(bot: Harness) -> None:
    reported = bot.clock.now()
    await bot.say("dave", "!break pkgdb API down")
    await bot.advance(minutes=10)
    # stamped 4 minutes after the report, handled 10 minutes after it
    await bot.say("alice", "!ack 1", sent_at=reported + timedelta(minutes=4))
    assert "time to acknowledge: n=1, mean 4m" in (await bot.say("alice", "!mttr today")).text


async def test_a_time_from_the_future_or_long_ago_is_not_believed(bot: Harness) -> None:
    await bot.say("dave", "!break pkgdb API down")
    await bot.say("dave", "!break koji builds stuck")
    await bot.advance(minutes=10)
    now = bot.clock.now()
    await bot.say("alice", "!ack 1", sent_at=now + timedelta(hours=3))
    await bot.say("alice", "!ack 2", sent_at=now - timedelta(days=30))
    mttr = (await bot.say("alice", "!mttr today")).text
    assert "time to acknowledge: n=2, mean 10m, median 10m" in mttr


async def test_an_event_never_precedes_the_report(bot: Harness) -> None:
    reported = bot.clock.now()
    await bot.say("dave", "!break pkgdb API down")
    await bot.advance(minutes=1)
    # a network whose clock runs behind the one that took the report
    await bot.say("alice", "!fixed 1", sent_at=reported - timedelta(minutes=5))
    mttr = (await bot.say("alice", "!mttr today")).text
    assert "time to repair: n=1, mean 0s" in mttr
