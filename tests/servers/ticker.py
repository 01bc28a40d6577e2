"""A test plugin with a job every second that announces itself: loaded by real bot
processes in tests/servers/test_two_instances.py to see which instance runs the jobs."""

from __future__ import annotations

import os
from datetime import timedelta

from bot.messages import Reply
from bot.plugin import Plugin


class Ticker(Plugin):
    name = "ticker"

    async def start(self) -> None:
        self.api.scheduler.every("tick", timedelta(seconds=1), self.tick)

    async def tick(self) -> None:
        await self.api.announce(Reply.of(f"tick from pid {os.getpid()}"))


plugin = Ticker
