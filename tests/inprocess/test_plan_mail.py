"""Mailed plan announcements through a real SMTP server (aiosmtpd on loopback), parsed
back: an API break goes to its own lists and says so plainly, apart from routine deploy
notices; T-minus reminders and changes are mailed too; a refusal is one line. And the
same workflow from the command line (`deployday plan`), announced in chat by the bot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from bot.cli import main
from bot.clock import FakeClock
from bot.devtools.harness import Harness
from tests.inprocess.test_digest import Inbox
from tests.inprocess.test_plans import ADMIN_ROOM, CATALOG, EARLY, NET, PLAN, T0, Noc, say
from tests.servers.support import free_port

LISTS = {
    "mail_to": ["infrastructure@lists.example.org"],
    "api_break_mail_to": ["devel-announce@lists.example.org"],
}


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def start(db: Path, port: int, **plans: object) -> Harness:
    return await Harness.start(
        db,
        clock=FakeClock(EARLY),
        admins=["alice@libera"],
        timezone="Europe/Prague",
        networks={"libera": ("#fedora-admin", "#fedora-noc")},
        catalog=CATALOG,
        mail={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from_address": "deployday@example.org",
            "timeout": 10,
        },
        plans={**LISTS, **plans},
    )


async def test_an_api_break_is_mailed_plainly_to_its_lists(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    bot = await start(tmp_path / "m.sqlite3", port, remind_before=["1d"])
    try:
        said = await say(bot, "alice", PLAN)
        assert said.splitlines()[-1] == (
            "mailed to infrastructure@lists.example.org, devel-announce@lists.example.org"
        )
        [mail] = inbox.messages
        assert mail["To"] == "infrastructure@lists.example.org, devel-announce@lists.example.org"
        assert mail["Subject"] == "[API BREAK] pkgdb2 of pkgdb: Wed 2026-11-25 09:00 CET"
        assert mail["Date"].datetime == EARLY
        assert mail.get_content().replace("\r\n", "\n") == (
            "Deploy pkgdb2 of pkgdb (production) is planned for Wed 2026-11-25 09:00 CET "
            "(2026-11-25 08:00 UTC).\n"
            "\n"
            "THE PKGDB API BREAKS. Anything written against the current pkgdb API may stop "
            "working when this deploy goes out; update it before then.\n"
            "\n"
            "Known consumers: bodhi (infra), koji-scripts (releng).\n"
            "If you use pkgdb and are not listed, tell the infra team before the deploy, so "
            "that you are paged on the day.\n"
            "\n"
            "What changes: packages API v2\n"
            "\n"
            "Planned by alice.\n"
        )
        # a routine deploy is a routine notice, to the routine list only
        await say(bot, "alice", "!deploy plan pkgdb 2026-11-20 07:00 new indexes")
        assert inbox.messages[-1]["To"] == "infrastructure@lists.example.org"
        assert inbox.messages[-1]["Subject"] == ("[deploy] pkgdb: Fri 2026-11-20 07:00 CET")
        # the T-minus reminder is mailed too
        await Noc(bot).at(T0 - timedelta(days=1))
        assert inbox.messages[-1]["Subject"] == (
            "[API BREAK] in 1d: pkgdb2 of pkgdb, Wed 2026-11-25 09:00 CET"
        )
        said = await say(bot, "alice", "!deploy move pkgdb2 2026-11-26 09:00")
        assert inbox.messages[-1]["Subject"] == (
            "[API BREAK] moved: pkgdb2 of pkgdb, now Thu 2026-11-26 09:00 CET"
        )
        assert len(inbox.messages) == 4
    finally:
        await bot.close()


async def test_reminders_can_stay_out_of_the_mail_and_a_refusal_is_one_line(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    bot = await start(tmp_path / "m.sqlite3", port, mail_reminders=False)
    try:
        await say(bot, "alice", PLAN)
        await Noc(bot).at(T0 - timedelta(days=1))
        assert [m["Subject"] for m in inbox.messages] == [
            "[API BREAK] pkgdb2 of pkgdb: Wed 2026-11-25 09:00 CET"
        ]
        inbox.refuse = True
        said = await bot.say("alice", "!deploy cancel pkgdb2", network=NET, room=ADMIN_ROOM)
        assert said.text == (
            "Cancelled: deploy pkgdb2 of pkgdb (production), planned for Wed 2026-11-25 09:00 "
            "CET, is off"
        )
        # why the mail failed goes to the admin who cancelled it, not the channel
        assert [s.text for s in said.elsewhere if s.room == "alice"] == [
            f"mail not sent: 127.0.0.1:{port} refused infrastructure@lists.example.org, "
            "devel-announce@lists.example.org"
        ]
    finally:
        await bot.close()


def test_planning_from_the_command_line(
    tmp_path: Path,
    smtp: tuple[Inbox, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("LOGNAME", "alice")  # who runs the command plans the deploy
    config = tmp_path / "config.yaml"
    config.write_text(
        "database: sqlite:///cli.sqlite3\n"
        "timezone: Europe/Prague\n"
        "catalog: {services: {pkgdb: {team: infra}}}\n"
        f"mail: {{host: 127.0.0.1, port: {port}, security: none, "
        "from_address: deployday@example.org}\n"
        "plans: {mail_to: [infrastructure@lists.example.org]}\n"
    )
    # -c may come before or after the action
    argv = ["plan", "add", "pkgdb2", "2099-11-25 09:00", "--service", "pkgdb", "--api-break"]
    assert main([*argv, "-d", "packages API v2", "-c", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "Planned: deploy pkgdb2 of pkgdb (production) on Wed 2099-11-25 09:00 CET, in "
    )
    assert out[0].endswith("— API BREAK — packages API v2")
    assert out[1:] == [
        "the pkgdb API breaks and no consumers of it are known; anyone using it: say so now",
        "planned by alice; deployday plan list lists what is planned",
        "mailed to infrastructure@lists.example.org",
        "no bot is serving chat now; it announces this when it next runs",
    ]
    assert inbox.messages[-1]["Subject"] == (
        "[API BREAK] pkgdb2 of pkgdb: Wed 2099-11-25 09:00 CET"
    )
    assert main(["plan", "-c", str(config), "list"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "1 planned deploy"
    assert main(["plan", "move", "nosuch", "+1h", "-c", str(config)]) == 1
    assert capsys.readouterr().err == (
        "deployday plan: no deploy named nosuch is planned; !deploy plans lists them\n"
    )
    assert main(["plan", "add", "x", "2001-01-01 09:00", "-c", str(config)]) == 1
    assert "is in the past" in capsys.readouterr().err

    async def bot_announces() -> list[str]:
        bot = await Harness.start(
            tmp_path / "cli.sqlite3",
            clock=FakeClock(T0),
            timezone="Europe/Prague",
            networks={"libera": ("#fedora-noc",)},
            catalog={"services": {"pkgdb": {"team": "infra"}}},
        )
        try:
            noc = Noc(bot)
            first = await noc.at(T0 + timedelta(minutes=1))
            cancel = ["plan", "cancel", "pkgdb2", "-c", str(config)]
            assert await asyncio.to_thread(main, cancel) == 0
            # the bot looks at the database again within 10 minutes
            assert await noc.at(T0 + timedelta(minutes=9)) == []
            return first + await noc.at(T0 + timedelta(minutes=11))
        finally:
            await bot.close()

    first, cancelled = asyncio.run(bot_announces())
    assert first.startswith("Planned: deploy pkgdb2 of pkgdb (production) on Wed 2099-11-25")
    assert cancelled == (
        "Cancelled: deploy pkgdb2 of pkgdb (production), planned for Wed 2099-11-25 09:00 CET, "
        "is off"
    )
