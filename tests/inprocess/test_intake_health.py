"""Health and metrics: /healthz says whether the loop, the database and every network are
well; /metrics is Prometheus text that prometheus_client's own parser reads back with the
figures the chat shows. And the intake refuses to start without its token."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import BUILTIN_PLUGINS
from bot.devtools.harness import Harness
from bot.errors import StartupError
from bot.loading import build_config
from tests.inprocess.intake import T0, running


async def test_healthz_answers_for_loop_database_and_each_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(tmp_path, monkeypatch) as intake:
        async with intake.http.get(intake.url + "/healthz", headers={"Authorization": ""}) as r:
            status, body = r.status, await r.json()
        assert status == 200
        assert body["status"] == "ok" and body["loop"]["ok"] and body["database"]["ok"]
        assert body["networks"] == {
            "libera": {
                "kind": "memory",
                "connected": True,
                "serving": True,
                "queued": 0,
                "reconnects": 0,
            },
            "fedora": {
                "kind": "memory",
                "connected": True,
                "serving": True,
                "queued": 0,
                "reconnects": 0,
            },
        }
        intake.bot.transport("fedora").connected = False
        async with intake.http.get(intake.url + "/healthz") as r:
            status, body = r.status, await r.json()
        assert (status, body["status"], body["networks"]["fedora"]["connected"]) == (
            503,
            "failing",
            False,
        )


async def test_metrics_are_prometheus_text_with_the_figures_of_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(tmp_path, monkeypatch) as intake:
        bot = intake.bot
        await bot.say("alice", "!deploy start pkgdb2", network="libera")
        await bot.say("dave", "!break pkgdb API down --sev 1", network="libera")
        await bot.say("dave", "!break koji builds slow", network="libera")
        await bot.say("dave", "!break docs stale", network="libera")
        await bot.say("alice", "!take 1", network="libera", at=T0 + timedelta(minutes=4))
        await bot.say("alice", "!fixed 3", network="libera", at=T0 + timedelta(minutes=10))
        await bot.say("dave", "!take 2", network="libera")
        await bot.say("alice", "!take 99", network="libera")
        await bot.say("dave", "!frobnicate", network="libera")
        bot.transport("libera").reconnects = 2

        async with intake.http.get(intake.url + "/metrics", headers={"Authorization": ""}) as r:
            assert r.status == 401
        async with intake.http.get(intake.url + "/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            text = await r.text()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert [
            samples["deployday_open_incidents", (("severity", str(n)),)] for n in (1, 2, 3, 4)
        ] == [1, 0, 1, 0]
        assert samples["deployday_deploy_active", ()] == 1
        assert samples["deployday_deploy_mtta_seconds", ()] == 420  # (4m + 10m) / 2
        assert samples["deployday_deploy_mttr_seconds", ()] == 600
        assert samples["deployday_deploy_incidents", (("state", "open"),)] == 2
        ok = (("command", "break"), ("outcome", "ok"))
        assert samples["deployday_commands_total", ok] == 3
        take = {
            o: samples.get(("deployday_commands_total", (("command", "take"), ("outcome", o))))
            for o in ("ok", "denied", "refused")
        }
        assert take == {"ok": 1, "denied": 1, "refused": 1}  # dave is no member; no #99
        unknown = (("command", "(unknown)"), ("outcome", "unknown"))
        assert samples["deployday_commands_total", unknown] == 1
        count = ("deployday_command_duration_seconds_count", (("command", "break"),))
        inf = ("deployday_command_duration_seconds_bucket", (("command", "break"), ("le", "+Inf")))
        assert samples[count] == samples[inf] == 3
        libera = (("kind", "memory"), ("network", "libera"))
        assert samples["deployday_network_connected", libera] == 1
        assert samples["deployday_network_reconnects_total", (("network", "libera"),)] == 2
        assert samples["deployday_network_send_queue", (("network", "fedora"),)] == 0
        assert ("deployday_event_loop_lag_seconds", ()) in samples


async def test_the_intake_will_not_start_without_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEPLOYDAY_INTAKE_TOKEN", raising=False)
    raw = {"plugins": [*BUILTIN_PLUGINS, "plugins.intake"], "intake": {"listen": "127.0.0.1:0"}}
    assert build_config(raw).missing_secrets() == [
        "intake.token_env: environment variable DEPLOYDAY_INTAKE_TOKEN is not set (or empty); "
        "export a long random token before starting the bot"
    ]
    with pytest.raises(StartupError, match="DEPLOYDAY_INTAKE_TOKEN is not set"):
        await Harness.start(tmp_path / "bot.sqlite3", **raw)
