"""Where the calendar feed goes: `GET /calendar.ics` on the intake and `deployday plan ics`
(a file, or standard output). Both render what the database holds now."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.config import Config
from bot.plugin import PluginAPI
from bot.web import Request, Response
from plugins.common.chat import plural
from plugins.common.files import atomic_text
from plugins.plans.agenda import agenda
from plugins.plans.calendar import FeedShape, feed
from plugins.plans.settings import PlanSettings

CONTENT_TYPE = "text/calendar; charset=utf-8"
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def default_domain(config: Config) -> str:
    """deployday.<the bot's name>.<its first network's host>: stable while the bot keeps
    its identity, and unlike another team's bot; `plans.calendar.domain` pins it."""
    for network in config.networks.values():
        if network.kind == "irc":
            return f"{_label(network.nick)}.{network.host.lower()}"
        local, _, server = network.user_id.removeprefix("@").partition(":")
        return f"{_label(local)}.{server.lower().split(':')[0]}"
    return "deployday.localhost"


def _label(name: str) -> str:
    return _NOT_DNS.sub("-", name.lower()).strip("-") or "deployday"


class CalendarFeed:
    def __init__(self, api: PluginAPI, settings: Callable[[], PlanSettings]) -> None:
        self._api = api
        self._settings = settings  # read each time: a reload (SIGHUP) may change them

    def shape(self) -> FeedShape:
        settings = self._settings()
        cfg = settings.calendar
        return FeedShape(
            cfg.name, cfg.domain or default_domain(self._api.config), cfg.length, settings.reminders
        )

    async def render(self, now: datetime) -> bytes:
        since = now - self._settings().calendar.kept
        plans = await agenda(self._api.store, since)
        # about 0.7 ms a plan in pure Python: off the event loop, so chat keeps moving
        return await asyncio.to_thread(feed, plans, self.shape())

    def token(self) -> str | None:
        """The read-only token GET /calendar.ics also takes as ?token=."""
        return self._settings().calendar.token

    async def serve(self, request: Request) -> Response:
        body = await self.render(self._api.clock.now())
        headers = {"Content-Disposition": 'inline; filename="deploys.ics"'}
        return Response(200, body, CONTENT_TYPE, headers)

    async def write(self, target: str, now: datetime) -> str | None:
        """Write the feed to `target` (a path, or - for standard output), all or nothing;
        says where it went when that was a file."""
        body = await self.render(now)
        if target == "-":
            sys.stdout.buffer.write(body)
            sys.stdout.flush()
            return None
        path = Path(target)
        with atomic_text(path, self._api.config.modes) as f:
            f.write(body.decode())
        return f"wrote {path} ({plural(body.count(b'BEGIN:VEVENT'), 'event')})"
