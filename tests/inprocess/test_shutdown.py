"""Stopping the bot lets commands already running finish and answer; new ones are not
started half-way."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.commands import command
from bot.devtools.harness import Harness
from bot.messages import Message, Room, Sender
from bot.plugin import Context, Plugin


class Slow(Plugin):
    name = "slow"
    gate: asyncio.Event
    started: asyncio.Event

    @command("slow", help="waits for the test to let it finish")
    async def slow(self, ctx: Context) -> str:
        Slow.started.set()
        await Slow.gate.wait()
        return "finished"


plugin = Slow


async def test_stop_waits_for_in_flight_commands(tmp_path: Path) -> None:
    Slow.gate, Slow.started = asyncio.Event(), asyncio.Event()
    bot = await Harness.start(tmp_path / "s.sqlite3", plugins=[__name__])
    transport = bot.transport()
    await transport.deliver(Message("test", Room("#ops"), Sender("dave", "dave"), "!slow"))
    await Slow.started.wait()
    stopping = asyncio.create_task(bot.app.stop(grace=30))
    await asyncio.sleep(0)
    await transport.deliver(Message("test", Room("#ops"), Sender("erin", "erin"), "!slow"))
    assert not stopping.done()
    Slow.gate.set()
    await stopping
    assert [s.text for s in transport.sent] == ["finished"]  # erin's came after the stop


async def test_stop_gives_up_after_the_grace_period(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Slow.gate, Slow.started = asyncio.Event(), asyncio.Event()
    bot = await Harness.start(tmp_path / "g.sqlite3", plugins=[__name__])
    transport = bot.transport()
    await transport.deliver(Message("test", Room("#ops"), Sender("dave", "dave"), "!slow"))
    await Slow.started.wait()
    await bot.app.stop(grace=0.05)
    assert transport.sent == []
    assert "did not finish" in caplog.text
