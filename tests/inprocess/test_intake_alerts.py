"""Alertmanager's webhook through the HTTP intake: a firing alert opens an incident
announced on every network, the same alert adds to it instead of opening another, a
resolved one is recorded and fixes it; alerts outside a deploy follow the config."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.inprocess.intake import T0, alert, running, webhook

EVERY_ROOM = [("libera", "#ops"), ("libera", "#noc"), ("fedora", "!room:example.org")]


async def test_an_alert_opens_one_incident_and_its_resolution_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    async with running(tmp_path, monkeypatch, database_url) as intake:
        await intake.bot.say("alice", "!deploy start pkgdb2", network="libera")
        before = intake.mark()
        firing = alert("HighErrorRate")
        status, body = await intake.post("/alerts", webhook(firing))
        assert (status, body["opened"], body["incidents"]) == (200, 1, [1])
        opened = (
            "new incident #1 [sev1] pkgdb: HighErrorRate: error rate over 5% "
            "(reported by alertmanager)"
        )
        assert intake.announced(before) == [(n, r, opened) for n, r in EVERY_ROOM]

        # Alertmanager repeats the group: nothing new, nothing said
        before = intake.mark()
        status, body = await intake.post("/alerts", webhook(firing))
        assert (status, body["repeat"], body["opened"]) == (200, 1, 0)
        assert intake.announced(before) == []

        # the same alert firing again (a new startsAt) adds to #1 instead of opening #2
        again = alert("HighErrorRate", starts=T0 + timedelta(minutes=3))
        intake.bot.clock.set(T0 + timedelta(minutes=4))
        status, body = await intake.post("/alerts", webhook(again))
        assert (body["again"], body["incidents"]) == (1, [1])
        assert intake.announced(before)[0][2] == (
            "#1 pkgdb: alert HighErrorRate is firing again (alertmanager)"
        )

        intake.bot.clock.set(T0 + timedelta(minutes=12))
        resolved = alert(
            "HighErrorRate",
            firing=False,
            starts=T0 + timedelta(minutes=3),
            ends=T0 + timedelta(minutes=10),
        )
        before = intake.mark()
        status, body = await intake.post("/alerts", webhook(resolved))
        assert (body["fixed"], body["incidents"]) == (1, [1])
        assert intake.announced(before)[0][2] == (
            "#1 pkgdb fixed by alertmanager after 12m: resolved by alertmanager"
        )
        show = (await intake.bot.say("alice", "!show 1", network="libera")).text
        assert show.splitlines() == [
            "#1 [sev1] pkgdb: HighErrorRate: error rate over 5% — fixed (deploy pkgdb2)",
            "08:58 UTC alertmanager reported it (sev1) on intake",
            "09:03 alertmanager: HighErrorRate firing again",
            "09:10 alertmanager fixed it: resolved by alertmanager",
        ]
        assert (await intake.bot.say("alice", "!mttr", network="libera")).text.splitlines()[
            2
        ] == "time to repair: n=1, mean 12m, median 12m, p90 12m"

        # firing after its incident was fixed: a new breakage, a new incident
        status, body = await intake.post(
            "/alerts", webhook(alert("HighErrorRate", starts=T0 + timedelta(minutes=11)))
        )
        assert (body["opened"], body["incidents"]) == (1, [2])
        assert await intake.counts() == {
            "incidents": 2,
            "incident_events": 4,
            "alert_incidents": 1,
            "deployments": 0,
        }


async def test_with_resolve_note_the_incident_stays_open_for_people(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(tmp_path, monkeypatch, resolve="note", severity_map={"page": 2}) as intake:
        await intake.post("/alerts", webhook(alert("DiskFull", "koji", severity="PAGE")))
        before = intake.mark()
        resolved = alert("DiskFull", "koji", severity="PAGE", firing=False, ends=T0)
        status, body = await intake.post("/alerts", webhook(resolved))
        assert (status, body["resolved"]) == (200, 1)
        assert intake.announced(before)[0][2] == (
            "#1 koji: alert DiskFull resolved (alertmanager); still open — !fixed 1 when it is"
        )
        listing = (await intake.bot.say("alice", "!incidents", network="libera")).text
        assert listing.splitlines()[1].startswith("#1 [sev2] koji: DiskFull: error rate over 5%")


@pytest.mark.parametrize(
    ("rule", "opened", "said"),
    [
        ("open", 1, "new incident #1 [sev3] koji: Slow: builds slow (reported by alertmanager)"),
        (
            "announce",
            0,
            "alert firing with no deploy under way (no incident): [sev3] koji: Slow: builds "
            "slow (alertmanager)",
        ),
        ("ignore", 0, None),
    ],
)
async def test_alerts_outside_a_deploy_follow_the_rule(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rule: str,
    opened: int,
    said: str | None,
) -> None:
    async with running(tmp_path, monkeypatch, outside_deploy=rule) as intake:
        slow = alert("Slow", "koji", severity=None, summary="builds slow")
        status, body = await intake.post("/alerts", webhook(slow))
        assert (status, body["opened"]) == (200, opened)
        assert [text for _, _, text in intake.announced()] == ([said] * 3 if said else [])
        assert (await intake.counts())["incidents"] == opened
        # during a deploy every rule opens one
        await intake.bot.say("alice", "!deploy start koji5", network="libera")
        other = alert("Slow", "koji", severity=None, summary="builds slow", instance="db2")
        _, body = await intake.post("/alerts", webhook(other))
        assert body["opened"] == 1
