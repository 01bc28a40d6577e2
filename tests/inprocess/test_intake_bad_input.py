"""Bad requests to the intake: each gets an HTTP error with a one-line JSON reason and one
line in the log, and leaves nothing half-written; an alert storm is taken whole, in one
transaction, announced in one line, while the bot keeps answering in chat."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.gate import ReportGate
from tests.inprocess.intake import Intake, alert, running, webhook

NOTHING_WRITTEN = {"incidents": 0, "incident_events": 0, "alert_incidents": 0, "deployments": 0}


async def raw(intake: Intake, data: bytes, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as plain,
        plain.post(intake.url + "/alerts", data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_each_bad_request_is_one_error_and_one_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    good = webhook(alert("HighErrorRate"))
    unmapped = webhook(alert("HighErrorRate"), alert("Slow", severity="urgent"))
    unlabelled = webhook(alert("HighErrorRate"), alert("Slow", service=None))
    cases = [
        (b'{"version": "4"', "s3cret-intake-token", 400, "the body is not valid JSON"),
        (b"[]", "s3cret-intake-token", 422, "not an Alertmanager webhook (version 4): body"),
        (b'{"version": "3", "alerts": []}', "s3cret-intake-token", 422, "version"),
        (b"x" * 3000, "s3cret-intake-token", 413, "larger than intake.max_body_bytes (2048)"),
        (_json(good), "wrong", 401, "missing or wrong bearer token"),
        (_json(good), None, 401, "missing or wrong bearer token"),
        (
            _json(unmapped),
            "s3cret-intake-token",
            422,
            "alert 1 (Slow): severity='urgent' is not in intake.severity_map (known: critical, "
            "error, info, warning)",
        ),
        (
            _json(unlabelled),
            "s3cret-intake-token",
            422,
            "alert 1 (Slow) has no 'service' label (intake.service_label)",
        ),
    ]
    async with running(tmp_path, monkeypatch, max_body_bytes=2048) as intake:
        for data, token, status, reason in cases:
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="plugins.intake"):
                got, body = await raw(intake, data, token)
            assert (got, list(body)) == (status, ["error"])
            assert reason in body["error"]
            [line] = [r.getMessage() for r in caplog.records]
            assert line.startswith(f"intake: {status} POST /alerts from 127.0.0.1: ")
            assert reason in line
        async with intake.http.get(intake.url + "/alerts") as response:
            assert (response.status, await response.json()) == (
                405,
                {"error": "GET is not served here; use POST"},
            )
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="plugins.intake"):
            async with intake.http.get(intake.url + "/nothing%0Aforged: line") as response:
                assert response.status == 404
        [line] = [r.getMessage() for r in caplog.records]
        assert (
            line == "intake: 404 GET /nothing forged: line from 127.0.0.1: nothing is "
            "served at /nothing forged: line"
        )
        assert await intake.counts() == NOTHING_WRITTEN
        assert intake.announced() == []


async def test_an_alert_storm_is_taken_whole_while_chat_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storm = webhook(
        *(
            alert("InstanceDown", "pkgdb" if n % 3 else "koji", instance=f"node{n}")
            for n in range(1000)
        )
    )
    async with running(tmp_path, monkeypatch) as intake:
        await intake.bot.say("bob", "!deploy", network="libera")  # bob is known from now on
        gate = ReportGate(intake.bot.app)
        posting = asyncio.create_task(intake.post("/alerts", storm))
        assert await gate.entered()
        said = await intake.bot.say("bob", "!incidents", network="libera")
        assert said.text == "no open incidents"  # answered mid-storm, nothing half-visible
        before = intake.mark()
        gate.open()
        status, body = await posting
        assert (status, body["alerts"], body["opened"]) == (200, 1000, 1000)
        assert body["incidents"] == list(range(1, 1001))
        assert await intake.counts() == {
            "incidents": 1000,
            "incident_events": 1000,
            "alert_incidents": 1000,
            "deployments": 0,
        }
        storm_line = (
            "Alert storm: 1000 alerts from alertmanager — 1000 incidents opened (#1-#1000); "
            "most hit: pkgdb 666, koji 334; !incidents lists the open ones"
        )
        assert [text for _, _, text in intake.announced(before)] == [storm_line] * 3

        # Alertmanager sends the group again: nothing new
        before = intake.mark()
        status, body = await intake.post("/alerts", storm)
        assert (status, body["repeat"], body["opened"]) == (200, 1000, 0)
        assert intake.announced(before) == []
        assert (await intake.counts())["incidents"] == 1000


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()
