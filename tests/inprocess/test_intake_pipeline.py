"""Deploys marked by the pipeline: over HTTP inside the running bot (announced at once), and
from the command line (written to the database, announced by the running bot within
seconds); deployments of a service recorded on any day."""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from plugins.intake.commands import IntakePlugin
from tests.inprocess.intake import T0, running

ROOT = Path(__file__).resolve().parents[2]


async def test_a_playbook_starts_and_ends_a_deploy_over_http(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(tmp_path, monkeypatch) as intake:
        status, body = await intake.post(
            "/deploys/start",
            {"name": "pkgdb2", "api_break": True, "environment": "production", "by": "ansible"},
        )
        assert (status, body["deploy"]["name"], body["deploy"]["started_by"]) == (
            201,
            "pkgdb2",
            "ansible",
        )
        started = [text for _, _, text in intake.announced()]
        assert (
            started[:2]
            == [
                "Deploy day: deploy pkgdb2 started by ansible — API BREAK\n"
                "Firefighters: !checkin <team> to go on duty; report breakage with "
                "!break <service> <what broke>"
            ]
            * 2
        )
        assert len(started) == 3  # every room of every network

        assert await intake.post("/deploys/start", {"name": "other"}) == (
            409,
            {"error": "deploy pkgdb2 is already under way; end it first with !deploy end"},
        )
        assert await intake.post("/deploys/start", {"name": "x", "api_breaks": True}) == (
            422,
            {"error": "api_breaks: Extra inputs are not permitted"},
        )

        intake.bot.clock.set(T0 + timedelta(minutes=30))
        before = intake.mark()
        status, body = await intake.post(
            "/deployments",
            {"service": "pkgdb", "version": "2.3.1", "environment": "production", "by": "ci"},
        )
        assert (status, body["deployment"]) == (
            201,
            {
                "id": 1,
                "service": "pkgdb",
                "version": "2.3.1",
                "environment": "production",
                "by": "ci",
                "at": "2026-11-25T09:30:00Z",
                "deploy": "pkgdb2",
            },
        )
        assert intake.announced(before)[0][2] == (
            "Deployed: pkgdb 2.3.1 to production by ci (deploy pkgdb2)"
        )
        assert (await intake.post("/deployments", {"service": "Pkg DB"}))[0] == 422

        intake.bot.clock.set(T0 + timedelta(hours=2))
        before = intake.mark()
        status, body = await intake.post("/deploys/end", {})
        assert (status, body["deploy"]["ended_at"], body["checked_out"]) == (
            200,
            "2026-11-25T11:00:00Z",
            0,
        )
        said = [text for _, room, text in intake.announced(before) if room == "#ops"]
        assert said[0].startswith("Deploy day over: deploy pkgdb2 ended after 2h; 0 incidents")
        assert any("digest" in line.lower() for line in said[1:])  # the digest follows the end
        assert await intake.post("/deploys/end", {}) == (409, {"error": "no deploy is under way"})


async def test_the_command_line_marks_deploys_and_the_running_bot_announces_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    async with running(tmp_path, monkeypatch, database_url) as intake:
        offline = App(intake.bot.app.config, [], clock=intake.bot.clock)
        cli = next(p for p in offline.plugins if isinstance(p, IntakePlugin))
        try:
            start = argparse.Namespace(
                action="start", name="pkgdb2", api_break=True, env=None, description="v2 API"
            )
            assert await cli.deploy_cli(start) == 0
            before = intake.mark()
            await intake.bot.advance(seconds=2)
            assert intake.announced(before)[0][2].splitlines()[0] == (
                "Deploy day: deploy pkgdb2 started by console — API BREAK — v2 API"
            )
            await intake.bot.advance(seconds=2)
            assert intake.announced(before)[3:] == []  # announced once

            record = argparse.Namespace(
                action="record", service="koji", version="1.35", env="staging", by="jenkins"
            )
            assert await cli.deploy_cli(record) == 0
            assert await cli.deploy_cli(argparse.Namespace(action="end")) == 0
            before = intake.mark()
            await intake.bot.advance(seconds=2)
            said = [text for _, room, text in intake.announced(before) if room == "#ops"]
            assert said[0] == "Deployed: koji 1.35 to staging by jenkins (deploy pkgdb2)"
            assert said[1].startswith("Deploy day over: deploy pkgdb2 ended after 4s")
            assert any("digest" in line.lower() for line in said[2:])
        finally:
            await offline.store.dispose()


def test_deployday_deploy_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "database: sqlite:///team.sqlite3\n"
        "plugins: [plugins.deploys, plugins.incidents, plugins.metrics, plugins.intake]\n"
    )

    def deployday(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "--log-level", "WARNING", "deploy", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )

    done = deployday("record", "pkgdb", "--version", "2.3.1", "--env", "prod", "-c", str(config))
    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        ["Deployed: pkgdb 2.3.1 to prod", "the running bot announces it in chat within seconds"],
    ), done.stderr
    done = deployday("end", "-c", str(config))
    assert (done.returncode, done.stderr) == (1, "deployday deploy: no deploy is under way\n")
    with sqlite3.connect(tmp_path / "team.sqlite3") as db:
        rows = db.execute("select service, version, environment, source from deployments")
        assert rows.fetchall() == [("pkgdb", "2.3.1", "prod", "cli")]
        assert db.execute("select kind, claimed_at from pipeline_notices").fetchall() == [
            ("deployment", None)
        ]
