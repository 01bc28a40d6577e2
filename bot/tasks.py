"""Tracks the work a message or a job causes, so shutdown can finish it and tests can
await it (`settle`) instead of sleeping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskTracker:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def settle(self) -> None:
        """Return when every tracked task, and every task those started, has finished."""
        quiet_rounds = 0
        while quiet_rounds < 3:
            if self._tasks:
                quiet_rounds = 0
                await asyncio.wait(set(self._tasks))
            else:
                quiet_rounds += 1
                await asyncio.sleep(0)

    async def drain(self, grace: float) -> bool:
        """Give in-flight work up to `grace` seconds; True when all of it finished."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        return not pending
