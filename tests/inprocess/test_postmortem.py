"""The digest as a postmortem a person would keep: a deploy day with an alert, a
duplicate, a page, a reminder and check-ins, read back from the digest FILE: the
duplicate under its original and out of the figures, how each incident ended, everything
in one timeline; and repeated digests of one deploy replacing one file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.inprocess.day_after import NETWORK, ROOM, play, start, t
from tests.inprocess.intake import T0, alert, running, webhook

REMINDERS = {
    "enabled": True,
    "unowned_after": {"sev1": 5, "sev2": 10, "sev3": 10, "sev4": 60},
}


async def test_the_digest_file_of_a_day_with_an_alert_a_duplicate_and_a_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"reminders": REMINDERS, "timezone": "UTC"}
    async with running(tmp_path, monkeypatch, config=config) as intake:
        bot = intake.bot

        async def say(minute: float, nick: str, text: str) -> str:
            await bot.advance_to(T0 + timedelta(minutes=minute))
            said = await bot.say(nick, text, network="libera", room="#ops")
            assert not said.text.startswith(f"{nick}:"), f"{text!r} was refused: {said.text}"
            return said.text

        await say(0, "alice", "!deploy start pkgdb2")
        await say(1, "alice", "!roster add bob infra")
        await say(1, "alice", "!roster add carol releng")
        await say(2, "bob", "!checkin")
        await say(3, "carol", "!checkin")
        await bot.advance_to(T0 + timedelta(minutes=5))
        firing = alert("HighErrorRate", starts=T0 + timedelta(minutes=5))
        assert (await intake.post("/alerts", webhook(firing)))[1]["incidents"] == [1]
        await say(6, "dave", "!break koji builds stuck")
        await say(7, "bob", "!take 1")
        await say(7, "erin", "!break koji builds are stuck")
        await say(8, "carol", "!dup 3 2")
        await say(9, "alice", "!page infra pkgdb is erroring")
        await bot.advance_to(T0 + timedelta(minutes=15))
        resolved = alert(
            "HighErrorRate",
            firing=False,
            starts=T0 + timedelta(minutes=5),
            ends=T0 + timedelta(minutes=15),
        )
        assert (await intake.post("/alerts", webhook(resolved)))[1]["fixed"] == 1
        await say(20, "carol", "!take 2")  # #2's unowned reminder went out at 16
        await say(25, "carol", "!fixed 2 requeued the builds")
        await say(30, "bob", "!checkout")
        for minute in (40, 50):
            await say(minute, "alice", "!digest")
        await say(60, "alice", "!deploy end")

    digests = tmp_path / "digests"
    assert sorted(p.name for p in digests.iterdir()) == ["digest-pkgdb2.md"]
    path = digests / "digest-pkgdb2.md"
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "- **Incidents**: 2 (0 still open; 1 duplicate not counted);" in text
    assert section(text, "Incidents") == [
        "| # | service | sev | environment | owner | team | status | TTA | TTR | summary "
        "| resolution |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        "| #1 | pkgdb | 1 | — | bob | infra | fixed | 2m | 10m "
        "| HighErrorRate: error rate over 5% | resolved by alertmanager |",
        "| #2 | koji | 3 | — | carol | releng | fixed | 14m | 19m | builds stuck "
        "| fixed by carol: requeued the builds |",
        "| ↳ #3 | koji | 3 | — | — | unowned | duplicate | 1m | — | builds are stuck "
        "| duplicate of #2 |",
    ]
    # the duplicate counts nowhere: two incidents, its 1m TTA in no mean
    figures = section(text, "Time to acknowledge and time to repair")
    assert figures[2:5] == [
        "| overall | 2 | 2 | 8m | 8m | 12m 48s | 2 | 14m 30s | 14m 30s | 18m 6s |",
        "| service koji | 1 | 1 | 14m | 14m | 14m | 1 | 19m | 19m | 19m |",
        "| service pkgdb | 1 | 1 | 2m | 2m | 2m | 1 | 10m | 10m | 10m |",
    ]
    assert "| team unowned |" not in text
    assert section(text, "Timeline") == [
        "- 09:00 deploy pkgdb2 started by alice",
        "- 09:02 bob checked in for infra",
        "- 09:03 carol checked in for releng",
        "- 09:05 #1 pkgdb: alertmanager reported it (sev1) on intake",
        "- 09:06 #2 koji: dave reported it (sev3) on libera",
        "- 09:07 #1 pkgdb: bob took it",
        "- 09:07 #3 koji: erin reported it (sev3) on libera",
        "- 09:08 #3 koji: carol marked it a duplicate of #2",
        "- 09:09 alice paged infra: pkgdb is erroring",
        "- 09:15 #1 pkgdb: alertmanager fixed it: resolved by alertmanager",
        "- 09:16 #2 koji: reminder posted: nobody owns it",
        "- 09:20 #2 koji: carol took it",
        "- 09:25 #2 koji: carol fixed it: requeued the builds",
        "- 09:30 bob checked out (infra)",
        "- 10:00 carol checked out (releng)",
        "- 10:00 deploy pkgdb2 ended",
    ]


async def test_repeated_digests_keep_numbered_versions_when_configured(tmp_path: Path) -> None:
    bot = await start(tmp_path / "day.sqlite3", digest={"keep_versions": 2})
    try:
        await play(bot, end=False)
        for minute in (100, 101, 101):  # the third writes the same text: no new version
            await bot.say("alice", "!digest", at=t(minute), network=NETWORK, room=ROOM)
        await bot.say("alice", "!deploy end", at=t(120), network=NETWORK, room=ROOM)
        await bot.say("alice", "!digest", at=t(130), network=NETWORK, room=ROOM)
    finally:
        await bot.close()
    digests = tmp_path / "digests"
    names = sorted(p.name for p in digests.iterdir())
    # written at 100, 101, 120 and 130: the newest two texts it replaced are kept
    assert names == ["digest-pkgdb2.2.md", "digest-pkgdb2.3.md", "digest-pkgdb2.md"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in digests.iterdir())
    assert "still under way at 2026-11-25 10:41" in (digests / names[0]).read_text()
    assert "digest written 2026-11-25 11:00" in (digests / names[1]).read_text()
    assert "digest written 2026-11-25 11:10" in (digests / names[2]).read_text()


def section(text: str, title: str) -> list[str]:
    """The lines of a digest's section, without its heading and blank lines."""
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line]
