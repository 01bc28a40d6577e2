"""Every name and date is checked where it comes in (issue 11, reproduction 9): deploy and
plan names are named like services, from chat and from the command line; a date no
calendar of ours holds is one line, not an internal error; and one bad announcement
already in the database cannot cost the others theirs."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.devtools.harness import Harness
from bot.messages import Sender
from plugins.plans.service import PlanService
from tests.inprocess.test_digest import Inbox
from tests.inprocess.test_plan_mail import smtp, start
from tests.inprocess.test_plans import EARLY, Noc

__all__ = ["smtp"]  # the fixture, used below

NAME_RULE = (
    "a deploy name is up to 64 letters, digits, '.', '-', '_' or '/', starting with a "
    "letter or digit"
)


async def test_deploy_names_are_named_like_services(bot: Harness) -> None:
    said = await bot.say("alice", '!deploy start "pkgdb 2"')
    assert said.text == f"alice: {NAME_RULE}; got 'pkgdb 2'"
    said = await bot.say("alice", f"!deploy start {'x' * 65}")
    assert said.text == f"alice: {NAME_RULE}; got '{'x' * 40}'"
    assert (await bot.say("alice", "!deploy start pkgdb2")).text.startswith(
        "Deploy day: deploy pkgdb2 started by alice"
    )


async def test_names_of_people_are_bounded(bot: Harness) -> None:
    """No identity key is longer than the longest Matrix ID (255): a longer name typed in a
    command is one line (it used to be stored, or an internal error on PostgreSQL), and a
    message whose sender id is longer is not taken at all."""
    said = await bot.say("alice", f"!roster add {'b' * 300} infra")
    assert said.text == "alice: a name or ID is at most 255 characters; got 300"
    assert (await bot.say("m" * 256, "!incidents")).here == []
    assert (await bot.say("m" * 255, "!incidents")).text == "no open incidents"


async def test_a_date_beyond_the_calendar_is_one_line(bot: Harness) -> None:
    await bot.say("dave", "!break pkgdb down")
    said = await bot.say("alice", "!export md --until 9999-12-31")
    assert said.text == (
        "alice: --until: 9999-12-31 is outside the dates I handle, 2000-01-01 to 2099-12-31"
    )
    said = await bot.say("alice", "!deploy plan pkgdb2 9999-12-31 09:00")
    assert said.text == (
        "alice: 9999-12-31 is outside the dates I handle, 2000-01-01 to 2099-12-31"
    )


def test_a_line_break_in_a_plan_name_is_refused_at_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: sqlite:///plans.sqlite3\n")
    assert main(["plan", "add", "pkgdb2\r\nINJECTED", "+2h", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert err == f"deployday plan: {NAME_RULE}; got 'pkgdb2 INJECTED'\n"
    assert main(["plan", "-c", str(config), "list"]) == 0
    assert capsys.readouterr().out.startswith("no deploy is planned")


async def test_one_bad_announcement_does_not_stop_the_others(
    tmp_path: Path, smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    """A plan stored with a line break in its name (as older versions let through) cannot
    be mailed; it is logged, and the plan after it is announced and mailed all the same."""
    inbox, port = smtp
    bot = await start(tmp_path / "m.sqlite3", port)
    try:
        plans, console = PlanService.of(bot.app), Sender("console", "console")
        by = await bot.app.people.identify("console", console)
        when = EARLY + timedelta(days=2)
        for name in ("bad\r\nSubject: spam", "pkgdb2"):
            await plans.create(
                name, "pkgdb", "production", False, None, when, by, EARLY, offline=True
            )
        noc = Noc(bot)
        with caplog.at_level(logging.ERROR):
            await bot.advance(minutes=2)
        posted = noc.posted()
        assert [p.split(" of pkgdb")[0] for p in posted] == [
            "Planned: deploy bad\r\nSubject: spam",  # transports clean it on the way out
            "Planned: deploy pkgdb2",
        ]
        assert "the planned announcement of deploy 'bad\\r\\nSubject: spam' failed" in caplog.text
        assert [m["Subject"] for m in inbox.messages] == [
            "[deploy] pkgdb2 of pkgdb: Thu 2026-11-19 09:00 CET"
        ]
    finally:
        await bot.close()
