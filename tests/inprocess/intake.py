"""The whole bot with its HTTP intake on a free loopback port, and Alertmanager webhooks as
Alertmanager writes them, shared by the intake tests."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.config import BUILTIN_PLUGINS
from bot.devtools.harness import Harness
from plugins.intake.commands import IntakePlugin
from plugins.models import AlertIncident, Deployment, Incident, IncidentEvent

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TOKEN = "s3cret-intake-token"
ROOMS = {"libera": ("#ops", "#noc"), "fedora": ("!room:example.org",)}


@dataclass
class Intake:
    bot: Harness
    http: aiohttp.ClientSession  # sends the token
    plugin: IntakePlugin

    @property
    def url(self) -> str:
        assert self.plugin.server is not None
        return f"http://127.0.0.1:{self.plugin.server.port}"

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        async with self.http.post(self.url + path, json=body) as response:
            return response.status, await response.json()

    async def get(self, path: str, **headers: str) -> aiohttp.ClientResponse:
        async with self.http.get(self.url + path, headers=headers) as response:
            await response.read()
            return response

    def mark(self) -> dict[str, int]:
        """Where each network's record of what the bot sent stands now."""
        return {name: len(t.sent) for name, t in self.bot.app.transports.items()}  # type: ignore[attr-defined]

    def announced(self, since: dict[str, int] | None = None) -> list[tuple[str, str, str]]:
        """(network, room, text) the bot sent since `mark()`, network by network."""
        since = since or {}
        return [
            (s.network, s.room, s.text)
            for name, t in self.bot.app.transports.items()
            for s in t.sent[since.get(name, 0) :]  # type: ignore[attr-defined]
        ]

    async def counts(self) -> dict[str, int]:
        def unit(c: Any) -> dict[str, int]:
            return {
                table.__tablename__: c.scalar(select(func.count()).select_from(table))
                for table in (Incident, IncidentEvent, AlertIncident, Deployment)
            }

        return await self.bot.app.store.read(unit)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str | None = None,
    config: dict[str, Any] | None = None,
    **intake: Any,
) -> AsyncIterator[Intake]:
    """The bot with `intake` settings; `config` adds (or replaces) other sections."""
    monkeypatch.setenv("DEPLOYDAY_INTAKE_TOKEN", TOKEN)
    bot = await Harness.start(
        tmp_path / "bot.sqlite3",
        database_url=database_url,
        networks=ROOMS,
        clock=FakeClock(T0),
        admins=["alice@libera"],
        plugins=[*BUILTIN_PLUGINS, "plugins.intake"],
        intake={"listen": "127.0.0.1:0", **intake},
        **{"digest": {"directory": str(tmp_path / "digests")}, **(config or {})},
    )
    plugin = next(p for p in bot.app.plugins if isinstance(p, IntakePlugin))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            yield Intake(bot, http, plugin)
    finally:
        await bot.close()


def alert(
    name: str,
    service: str | None = "pkgdb",
    *,
    severity: str | None = "critical",
    firing: bool = True,
    starts: datetime = T0 - timedelta(minutes=2),
    ends: datetime | None = None,
    summary: str | None = "error rate over 5%",
    instance: str = "db1",
) -> dict[str, Any]:
    """One alert as Alertmanager's webhook carries it (fingerprint: a hash of the labels)."""
    labels = {"alertname": name, "instance": instance}
    if service is not None:
        labels["service"] = service
    if severity is not None:
        labels["severity"] = severity
    fingerprint = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
    return {
        "status": "firing" if firing else "resolved",
        "labels": labels,
        "annotations": {"summary": summary} if summary else {},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": (ends.isoformat().replace("+00:00", "Z") if ends else "0001-01-01T00:00:00Z"),
        "generatorURL": "http://prometheus.example.org/graph",
        "fingerprint": fingerprint,
    }


def webhook(*alerts: dict[str, Any]) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "deployday",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org",
        "alerts": list(alerts),
    }
