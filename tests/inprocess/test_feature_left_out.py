"""Each feature can be left out of the config: the others import, start and answer
without it, and what does not depend on it keeps working (plugins/ dependency order in
the README, "Development")."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import BUILTIN_PLUGINS
from bot.devtools.harness import Harness

SECTIONS: dict[str, dict[str, object]] = {
    "plugins.reminders": {"reminders": {"enabled": True, "summary_every": 10}},
    "plugins.catalog": {"catalog": {"services": {"pkgdb": {"consumers": {"fedora-review": "qa"}}}}},
}
DAY = [
    ("alice", "!roster add bob infra"),
    ("alice", "!deploy plan pkgdb --api-break tomorrow 09:00 new packages API"),
    ("alice", "!deploy expect pkgdb infra"),
    ("alice", "!deploy start pkgdb --api-break"),
    ("bob", "!checkin infra"),
    ("dave", "!break pkgdb --consumer fedora-review review tool gets 410"),
    ("dave", "!break koji builds stuck"),
    ("alice", "!take 1"),
    ("alice", "!fixed 1 reverted"),
    ("dave", "!mttr"),
    ("dave", "!consumers"),
    ("bob", "!digest"),
    ("alice", "!export csv"),
]


@pytest.mark.parametrize("left_out", BUILTIN_PLUGINS)
async def test_the_others_work_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, left_out: str
) -> None:
    present = [name for name in BUILTIN_PLUGINS if name != left_out]
    sections = {k: v for name in present for k, v in SECTIONS.get(name, {}).items()}
    bot = await Harness.start(
        tmp_path / "f.sqlite3",
        clock=FakeClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        admins=["alice@test"],
        plugins=present,
        **sections,
    )
    try:
        with caplog.at_level(logging.ERROR):
            said = {text: (await bot.say(nick, text)).text for nick, text in DAY}
            await bot.advance(minutes=30)  # reminders, summaries and plans' checks run
            said["!deploy end"] = (await bot.say("alice", "!deploy end")).text
        for text, answer in said.items():
            assert "internal error" not in answer, (text, answer)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        if left_out != "plugins.incidents":
            assert said["!break koji builds stuck"].startswith("#2 opened")
        if left_out != "plugins.deploys":
            assert said["!deploy end"].startswith("Deploy day over: deploy pkgdb ended")
        if left_out not in ("plugins.metrics", "plugins.incidents"):
            assert said["!mttr"].startswith("MTTR for ")
            assert "2 incidents — 1 open, 1 fixed" in said["!mttr"]
    finally:
        await bot.close()
