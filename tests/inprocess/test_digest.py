"""The postmortem digest of a scripted deploy day: every figure exact, the Markdown file
written whole, the summary in chat, mail delivered to a real SMTP server (aiosmtpd on
loopback) and parsed back, and each failure one line."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.cli import main
from bot.config.review import review
from bot.devtools.harness import Said
from tests.inprocess.day_after import END, NETWORK, ROOM, T0, play, start, t
from tests.servers.support import free_port

EXPECTED_MARKDOWN = """\
# Deploy digest: pkgdb2

- **API break**: yes
- **Description**: new packages API
- **Started**: 2026-11-25 09:00 by alice
- **Ended**: 2026-11-25 11:00 (2h)
- **Lead**: alice
- **Incidents**: 4 (2 still open); times in Europe/Prague; digest written 2026-11-25 11:00

## Time to acknowledge and time to repair

| scope | incidents | TTA n | MTTA | TTA median | TTA p90 | TTR n | MTTR | TTR median | TTR p90 |
|---|---|---|---|---|---|---|---|---|---|
| overall | 4 | 3 | 5m 20s | 5m | 8m 12s | 2 | 41m 30s | 41m 30s | 42m 42s |
| service bodhi | 1 | 1 | 9m | 9m | 9m | 0 | — | — | — |
| service docs | 1 | 0 | — | — | — | 0 | — | — | — |
| service koji | 1 | 1 | 5m | 5m | 5m | 1 | 43m | 43m | 43m |
| service pkgdb | 1 | 1 | 2m | 2m | 2m | 1 | 40m | 40m | 40m |
| team infra | 1 | 1 | 2m | 2m | 2m | 1 | 40m | 40m | 40m |
| team releng | 1 | 1 | 5m | 5m | 5m | 1 | 43m | 43m | 43m |
| team unowned | 2 | 1 | 9m | 9m | 9m | 0 | — | — | — |

## Change failure

Deployments from 2026-11-25 09:00 to 2026-11-25 11:00; one failed when an incident of \
its service was reported within 24h of it.

Deploy days that recorded no deployment and named no service (1 here) count as one \
deployment each, in `all` only.

| service | deployments | failed | rate | incidents | restore median | restore mean |
|---|---|---|---|---|---|---|
| all | 1 | 1 | 100% | #1 #2 #3 #4 | 41m 30s | 41m 30s |

## Incidents

| # | service | sev | environment | owner | team | status | TTA | TTR | summary | resolution |
|---|---|---|---|---|---|---|---|---|---|---|
| #1 | pkgdb | 3 | production | bob | infra | fixed | 2m | 40m | API returns 500 \\| on /packages \
| fixed by bob: pagination fixed |
| #2 | koji | 2 | staging | carol | releng | fixed | 5m | 43m | builds stuck \
| fixed by carol: requeued |
| #3 | docs | 3 | — | — | unowned | open | — | — | links point at v1 | still open |
| #4 | bodhi | 1 | — | — | unowned | acknowledged | 9m | — | updates time out | still open |

## Still open (carried over)

| # | service | sev | owner | status | open for | summary |
|---|---|---|---|---|---|---|
| #3 | docs | 3 | — | open | 1h 35m | links point at v1 |
| #4 | bodhi | 1 | — | acknowledged | 50m | updates time out |

## Who helped

| person | teams | on duty | owned | fixed |
|---|---|---|---|---|
| bob | infra | 1h 58m | 1 | 1 |
| carol | releng | 57m | 1 | 1 |

## Services most affected

| service | incidents | still open | worst severity | total time to repair |
|---|---|---|---|---|
| bodhi | 1 | 1 | sev1 | — |
| docs | 1 | 1 | sev3 | — |
| koji | 1 | 0 | sev2 | 43m |
| pkgdb | 1 | 0 | sev3 | 40m |

## Follow-ups

- #1 pkgdb: add a CI check for missing indexes (bob, 09:31)
- #2 koji: =alert on queue length (carol, 09:56)

## Timeline

- 09:00 deploy pkgdb2 started by alice
- 09:02 bob checked in for infra
- 09:03 carol checked in for releng
- 09:10 #1 pkgdb: dave reported it (sev3) on libera
- 09:12 #1 pkgdb: bob took it
- 09:15 #2 koji: dave reported it (sev2) on libera
- 09:20 #2 koji: carol took it
- 09:25 #3 docs: dave reported it (sev3) on libera
- 09:30 #1 pkgdb: bob fixed it: added the index
- 09:31 #1 pkgdb: bob marked a follow-up: add a CI check for missing indexes
- 09:45 #1 pkgdb: dave reopened it: still 500 on page 2
- 09:50 #1 pkgdb: bob fixed it: pagination fixed
- 09:56 #2 koji: carol marked a follow-up: =alert on queue length
- 09:58 #2 koji: carol fixed it: requeued
- 10:00 carol checked out (releng)
- 10:10 #4 bodhi: erin reported it (sev1) on libera
- 10:19 #4 bodhi: alice acknowledged it
- 10:30 #3 docs: dave noted: docs team notified
- 11:00 bob checked out (infra)
- 11:00 deploy pkgdb2 ended
"""

SUMMARY = [
    "Deploy day over: deploy pkgdb2 ended after 2h; 4 incidents, 2 still open; "
    "MTTA 5m 20s, MTTR 41m 30s",
    "1 person checked out. Thank you, firefighters.",
    "Digest for deploy pkgdb2: 4 incidents, 2 still open; MTTA 5m 20s (median 5m, p90 8m 12s); "
    "MTTR 41m 30s (median 41m 30s, p90 42m 42s)",
    "most affected: bodhi (1), docs (1), koji (1); 2 follow-ups; 2 people helped",
]
FILE_NAME = "digest-pkgdb2.md"


class Inbox:
    """aiosmtpd handler: keeps what it accepts; with `refuse`, turns every recipient down."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return "550 5.1.1 no such list here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_config(port: int) -> dict[str, object]:
    return {
        "mail": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from_address": "deployday@example.org",
            "timeout": 10,
        },
        "digest": {"mail_to": ["infra@lists.example.org", "ops@example.org"]},
    }


async def ended(db: Path, **config: Any) -> Said:
    """What `!deploy end` of the scripted day caused, on a bot with `config`."""
    bot = await start(db, **config)
    try:
        said = await play(bot)
    finally:
        await bot.close()
    assert said is not None
    return said


async def test_the_digest_of_a_scripted_day(tmp_path: Path) -> None:
    said = await ended(tmp_path / "day.sqlite3")
    path = tmp_path / "digests" / FILE_NAME
    # no server path in the channel: alice, who ended the deploy, gets it privately
    assert said.text.splitlines() == [
        *SUMMARY,
        f"full digest: {FILE_NAME} (the path went to alice privately)",
    ]
    assert private(said, "alice") == [f"full digest of deploy pkgdb2: {path}"]
    assert str(tmp_path) not in said.text
    assert path.read_text() == EXPECTED_MARKDOWN
    assert [p.name for p in path.parent.iterdir()] == [FILE_NAME]  # no temporary left


async def test_the_digest_is_mailed_to_the_list(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    bot = await start(tmp_path / "day.sqlite3", **mail_config(port))
    try:
        said = await play(bot)
    finally:
        await bot.close()
    assert said is not None
    assert said.text.splitlines()[-1] == "mailed to infra@lists.example.org, ops@example.org"
    [mail] = inbox.messages
    assert mail["From"] == "deployday@example.org"
    assert mail["To"] == "infra@lists.example.org, ops@example.org"
    assert mail["Subject"] == "deployday digest: deploy pkgdb2"
    assert mail["Date"].datetime == T0 + timedelta(minutes=END)
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().replace("\r\n", "\n") == EXPECTED_MARKDOWN


async def test_a_refusing_or_missing_smtp_server_is_one_line(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    inbox.refuse = True
    bot = await start(tmp_path / "a.sqlite3", **mail_config(port))
    try:
        said = await play(bot)
        assert said is not None
        # why the mail failed is for the admin who ended the deploy, not the channel
        assert said.text.splitlines()[-1].startswith(f"full digest: {FILE_NAME}")
        assert private(said, "alice")[-1] == (
            f"mail not sent: 127.0.0.1:{port} refused infra@lists.example.org, ops@example.org"
        )
        assert inbox.messages == []
        # the bot carries on
        assert (await bot.say("dave", "!incidents", network=NETWORK, room=ROOM)).text.startswith(
            "2 open incidents"
        )
    finally:
        await bot.close()
    closed = free_port()
    bot = await start(tmp_path / "b.sqlite3", **mail_config(closed))
    try:
        said = await play(bot)
        assert said is not None
        assert private(said, "alice")[-1].startswith(
            f"mail not sent: cannot talk to 127.0.0.1:{closed}: "
        )
    finally:
        await bot.close()


async def test_digest_on_demand_while_the_deploy_is_under_way(tmp_path: Path) -> None:
    bot = await start(tmp_path / "day.sqlite3")
    try:
        await play(bot, end=False)
        said = await bot.say("bob", "!digest", at=t(100), network=NETWORK, room=ROOM)
        path = tmp_path / "digests" / FILE_NAME
        assert said.text.splitlines() == [
            "Digest for deploy pkgdb2: 4 incidents, 2 still open; MTTA 5m 20s (median 5m, "
            "p90 8m 12s); MTTR 41m 30s (median 41m 30s, p90 42m 42s)",
            "most affected: bodhi (1), docs (1), koji (1); 2 follow-ups; 2 people helped",
            f"full digest: {path.name} (the path went to bob privately)",
        ]
        # on demand: answered where asked, not announced; the path to bob alone
        assert [(s.room, s.text) for s in said.elsewhere] == [
            ("bob", f"full digest of deploy pkgdb2: {path}")
        ]
        text = path.read_text()
        assert "- **Ended**: still under way at 2026-11-25 10:40" in text
        assert "| bob | infra | 1h 38m | 1 | 1 |" in text  # on duty until now
        assert "| #3 | docs | 3 | — | open | 1h 15m | links point at v1 |" in text
        assert (await bot.say("bob", "!digest nosuch", network=NETWORK, room=ROOM)).text == (
            "bob: no deploy named 'nosuch'"
        )
        assert (await bot.say("dave", "!digest", network=NETWORK, room=ROOM)).text == (
            "dave: !digest is for roster members; ask an admin to !roster add dave <team>"
        )
    finally:
        await bot.close()


async def test_a_digest_leaves_the_cycle_collector_as_it_found_it(tmp_path: Path) -> None:
    """It is paused while the digest's rows are read (digest/service.py)."""
    bot = await start(tmp_path / "day.sqlite3")
    try:
        await play(bot, end=False)
        said = await bot.say("bob", "!digest", at=t(100), network=NETWORK, room=ROOM)
        assert said.text.startswith("Digest for deploy pkgdb2: 4 incidents")
        assert gc.isenabled()
        gc.disable()
        try:
            said = await bot.say("bob", "!digest", at=t(101), network=NETWORK, room=ROOM)
            assert said.text.startswith("Digest for deploy pkgdb2: 4 incidents")
            assert not gc.isenabled()
        finally:
            gc.enable()
    finally:
        await bot.close()


async def test_an_unwritable_digest_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the directory should be")
    said = await ended(tmp_path / "day.sqlite3", digest={"directory": str(tmp_path / "taken")})
    assert said.text.splitlines()[-1] == (
        "the full digest could not be written; the bot's log says why"
    )
    assert private(said, "alice") == [
        f"full digest of deploy pkgdb2 not written: cannot create directory "
        f"{tmp_path / 'taken'}: File exists"
    ]


async def test_the_end_of_day_digest(tmp_path: Path) -> None:
    bot = await start(tmp_path / "day.sqlite3", digest={"end_of_day": "18:00"})
    try:
        await play(bot, end=False)

        async def digests_until(minute: float) -> list[str]:
            before = len(bot.transport(NETWORK).sent)
            await bot.advance(minutes=minute - (bot.clock.now() - T0) / timedelta(minutes=1))
            return [s.text.splitlines()[0] for s in bot.transport(NETWORK).sent[before:]]

        # 18:00 Prague is 17:00 UTC, 540 minutes after the start; the deploy is under way
        assert await digests_until(539) == []
        assert await digests_until(541) == [
            "Digest for deploy pkgdb2: 4 incidents, 2 still open; MTTA 5m 20s (median 5m, "
            "p90 8m 12s); MTTR 41m 30s (median 41m 30s, p90 42m 42s)"
        ]
        await bot.say("alice", "!deploy end", at=t(24 * 60 + 120), network=NETWORK, room=ROOM)
        # it ended that day: one more digest at 18:00; the day after, none
        assert len(await digests_until(24 * 60 + 541)) == 1
        assert await digests_until(2 * 24 * 60 + 541) == []
    finally:
        await bot.close()


async def test_a_digest_directory_on_the_web_is_linked_in_chat(tmp_path: Path) -> None:
    web = "https://infra.example.org/deployday/digests/"
    said = await ended(tmp_path / "day.sqlite3", digest={"url_base": web})
    assert said.text.splitlines()[-1] == (
        f"full digest: https://infra.example.org/deployday/digests/{FILE_NAME}"
    )
    assert private(said, "alice") == []


async def test_mail_without_a_mail_server_is_said_by_the_review_once_not_in_chat(
    tmp_path: Path,
) -> None:
    bot = await start(tmp_path / "day.sqlite3", digest={"mail_to": ["infra@example.org"]})
    try:
        said = await play(bot)
        assert said is not None
        ended_again = await bot.say("alice", "!digest", network=NETWORK, room=ROOM)
        found = review(bot.app.config)
    finally:
        await bot.close()
    for text in (said.text, ended_again.text, *private(said, "alice")):
        assert "mail" not in text.replace(str(tmp_path), "")
    # what `run` and `check-config` print once, at start
    assert [w for w in found.warnings if "mail" in w] == [
        "digest.mail_to is set but there is no `mail:` section: nothing will be mailed; "
        "add `mail:` (see config.example.yaml) or remove this key"
    ]


def private(said: Said, nick: str) -> list[str]:
    """What the bot told `nick` in a private message."""
    return [s.text for s in said.elsewhere if s.room == nick]


def test_deployday_digest_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def day() -> None:
        bot = await start(tmp_path / "day.sqlite3")
        try:
            await play(bot)
        finally:
            await bot.close()

    asyncio.run(day())
    config = tmp_path / "config.yaml"
    config.write_text("database: sqlite:///day.sqlite3\ntimezone: Europe/Prague\n")
    out = tmp_path / "out.json"
    assert main(["digest", "-c", str(config), "--format", "json", "-o", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [*SUMMARY[2:], f"full digest: {out}"]
    doc = json.loads(out.read_text())
    assert doc["deploy"] == {
        "name": "pkgdb2",
        "api_break": True,
        "description": "new packages API",
        "started_at": "2026-11-25T08:00:00Z",
        "ended_at": "2026-11-25T10:00:00Z",
        "started_by": "alice",
        "lead": "alice",
    }
    assert doc["overall"] == {
        "incidents": 4,
        "duplicates": 0,
        "by_status": {"fixed": 2, "open": 1, "acknowledged": 1},
        "tta": {"count": 3, "mean_seconds": 320, "median_seconds": 300, "p90_seconds": 492},
        "ttr": {"count": 2, "mean_seconds": 2490, "median_seconds": 2490, "p90_seconds": 2562},
    }
    assert doc["by_team"]["infra"]["ttr"]["mean_seconds"] == 2400
    assert doc["by_service"]["koji"]["tta"]["p90_seconds"] == 300
    assert [
        (i["number"], i["environment"], i["tta_seconds"], i["ttr_seconds"])
        for i in doc["incidents"]
    ] == [
        (1, "production", 120, 2400),
        (2, "staging", 300, 2580),
        (3, None, None, None),
        (4, None, 540, None),
    ]
    assert doc["helpers"] == [
        {"name": "bob", "teams": ["infra"], "on_duty_seconds": 7080, "owned": 1, "fixed": 1},
        {"name": "carol", "teams": ["releng"], "on_duty_seconds": 3420, "owned": 1, "fixed": 1},
    ]
    assert doc["followups"][1] == {
        "number": 2,
        "service": "koji",
        "text": "=alert on queue length",
        "by": "carol",
        "at": "2026-11-25T08:56:00Z",
    }

    # the deploy day recorded no deployment: one change, of no service, failed by all four
    # (two hours long: 12 a day)
    assert doc["change_failure"]["overall"] == {
        "service": None,
        "deployments": 1,
        "per_day": 12.0,
        "per_week": 84.0,
        "failed": 1,
        "failure_rate": 1.0,
        "incidents": [1, 2, 3, 4],
        "time_to_restore": {"count": 2, "median_seconds": 2490, "mean_seconds": 2490},
        "unrestored": 2,
    }

    assert main(["digest", "-c", str(config), "--deploy", "nosuch"]) == 1
    assert capsys.readouterr().err == "deployday digest: no deploy named 'nosuch'\n"
    assert main(["digest", "-c", str(config), "-o", str(tmp_path / "no" / "dir.md")]) == 1
    assert capsys.readouterr().err == (
        f"deployday digest: cannot write {tmp_path / 'no' / 'dir.md'}: No such file or directory\n"
    )
    assert main(["digest", "-c", str(config), "--mail"]) == 1
    assert capsys.readouterr().err == (
        "deployday digest: --mail needs digest.mail_to in the config\n"
    )
    assert main(["digest", "-c", str(config), "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("# Deploy digest: pkgdb2\n")
