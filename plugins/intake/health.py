"""`GET /healthz`: is the event loop responsive, does the database answer a read, is each
network connected. 200 when all are, 503 otherwise, with the details as JSON either way,
for a load balancer, systemd's watchdog script or a person with curl."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy import text

from bot.plugin import PluginAPI
from bot.web import Request, Response

log = logging.getLogger(__name__)

LAG_EVERY = 1.0  # seconds between the loop watch's looks
LAG_LIMIT = 1.0  # seconds late beyond which the loop counts as unresponsive
DB_TIMEOUT = 2.0


class LoopWatch:
    """How late the event loop wakes a task that sleeps a fixed time: a loop blocked by
    a slow callback shows as lag long before people notice missing answers."""

    def __init__(self) -> None:
        self.lag = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="intake-loop-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + LAG_EVERY
            await asyncio.sleep(LAG_EVERY)
            self.lag = max(0.0, loop.time() - expected)


class Health:
    def __init__(self, api: PluginAPI, watch: LoopWatch) -> None:
        self._api = api
        self._watch = watch

    async def report(self) -> dict[str, Any]:
        loop_ok = self._watch.lag < LAG_LIMIT
        database = await self._database()
        networks = {
            n.name: {
                "kind": n.kind,
                "connected": n.connected,
                "serving": n.serving,
                "queued": n.queued,
                "reconnects": n.reconnects,
            }
            for n in self._api.networks()
        }
        healthy = loop_ok and database["ok"] and all(n["connected"] for n in networks.values())
        return {
            "status": "ok" if healthy else "failing",
            "loop": {"ok": loop_ok, "lag_seconds": round(self._watch.lag, 4)},
            "database": database,
            "networks": networks,
        }

    async def _database(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                await self._api.store.read(lambda c: c.execute(text("SELECT 1")).scalar())
        except Exception as exc:
            log.warning("health check: the database did not answer a read: %r", exc)
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
        return {"ok": True, "seconds": round(time.perf_counter() - started, 4)}

    async def serve(self, request: Request) -> Response:
        report = await self.report()
        return Response.json(report, 200 if report["status"] == "ok" else 503)
