"""Holding a write open: a judge that keeps the reporting transaction waiting until the
test lets it go, so a test can show what the bot still answers meanwhile (an alert storm
in its one long transaction) without depending on how fast anything is."""

from __future__ import annotations

import asyncio
import threading

from bot.plugin import PluginAPI
from plugins.incidents.judges import NOTHING, Flags
from plugins.incidents.service import IncidentService

HOLD_AT_MOST = 30.0  # seconds: a broken test must not hang forever


class ReportGate:
    def __init__(self, api: PluginAPI) -> None:
        self._inside = threading.Event()
        self._release = threading.Event()
        IncidentService.of(api).add_judge(self._hold)

    def _hold(self, *_: object) -> Flags:
        self._inside.set()
        self._release.wait(HOLD_AT_MOST)
        return NOTHING

    async def entered(self) -> bool:
        """Wait until a report's transaction is in progress, and held."""
        return await asyncio.to_thread(self._inside.wait, HOLD_AT_MOST)

    def open(self) -> None:
        self._release.set()
