"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager) for the server tier,
started once per session on loopback, gossip off, routing every alert to the bot's intake
on a port chosen up front (`intake_port`, where each test's bot listens) with the token
as a bearer credential. Alerts go in through Alertmanager's own API."""

from __future__ import annotations

import json
import secrets
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.servers.support import Server, free_port, need, server_dir, which

__all__ = ["Alertmanager", "alertmanager"]

HOST = "127.0.0.1"

AM_YML = """\
route:
  receiver: deployday
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: deployday
    webhook_configs:
      - url: http://127.0.0.1:@INTAKE@/alerts
        send_resolved: true
        http_config:
          authorization:
            credentials: @TOKEN@
"""


@dataclass(frozen=True)
class Alertmanager:
    port: int
    intake_port: int  # where it delivers: the test's bot listens here
    token: str
    version: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def post(self, *alerts: dict[str, Any]) -> None:
        """Alerts into Alertmanager's API, as Prometheus sends them."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/api/v2/alerts", json=list(alerts)) as response,
        ):
            assert response.status == 200, await response.text()


def am_alert(
    name: str, instance: str, *, resolved_at: datetime | None = None, **labels: str
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {"alertname": name, "instance": instance, **labels},
        "annotations": {"summary": f"{instance} is down"},
    }
    if resolved_at is not None:
        alert["endsAt"] = resolved_at.astimezone(UTC).isoformat()
    return alert


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/-/ready", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def alertmanager() -> Iterator[Alertmanager]:
    binary = which("prometheus-alertmanager", "alertmanager")
    need("Prometheus Alertmanager", binary is not None, "apt-get install prometheus-alertmanager")
    assert binary is not None
    d = server_dir("alertmanager")
    port, intake, token = free_port(), free_port(), secrets.token_hex(16)
    config = d / "am.yml"
    config.write_text(AM_YML.replace("@INTAKE@", str(intake)).replace("@TOKEN@", token))
    cmd = [
        binary,
        f"--config.file={config}",
        f"--storage.path={d / 'data'}",
        f"--web.listen-address={HOST}:{port}",
        "--cluster.listen-address=",
    ]
    server = Server(cmd, d / "alertmanager.log", lambda: _ready(port)).start()
    with urllib.request.urlopen(f"http://{HOST}:{port}/api/v2/status", timeout=5) as r:
        version = json.load(r)["versionInfo"]["version"]
    try:
        yield Alertmanager(port, intake, token, version)
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)
