"""Bad input gets one clear line; nothing crashes and nothing is half-written."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bot.commands import command
from bot.devtools.harness import Harness
from bot.messages import Message, Room, Sender
from bot.plugin import Context, Plugin
from plugins.models import Incident, IncidentEvent


async def counts(bot: Harness) -> tuple[int, int]:
    return await bot.app.store.read(
        lambda c: (
            c.scalar(select(func.count(Incident.id))),
            c.scalar(select(func.count(IncidentEvent.id))),
        )
    )


async def test_unknown_commands_and_noise(bot: Harness) -> None:
    assert (await bot.say("dave", "!frobnicate")).text == (
        "dave: unknown command !frobnicate; !help lists them all"
    )
    assert (await bot.say("dave", "!shwo 1")).text == (
        "dave: unknown command !shwo; did you mean !show? !help lists them all"
    )
    assert (await bot.say("dave", "!!!")).here == []
    assert (await bot.say("dave", "! ")).here == []
    assert (await bot.say("dave", "!")).here == []


async def test_bad_numbers_and_arguments(bot: Harness) -> None:
    assert (await bot.say("alice", "!take abc")).text == (
        "alice: incident numbers look like 7 or #7, not 'abc'; usage: !take <N>"
    )
    assert (await bot.say("alice", "!take 99")).text == (
        "alice: there is no incident #99; !incidents all lists them"
    )
    assert (await bot.say("alice", "!show #0")).text == (
        "alice: incident numbers look like 7 or #7, not '#0'; usage: !show <N>"
    )
    assert (await bot.say("dave", "!break")).text == (
        "dave: missing <service>; usage: !break <service> <summary…> [--sev 1-4] [--env ENV] "
        "[--consumer CONSUMER]"
    )
    assert (await bot.say("dave", "!break pkgdb")).text == (
        "dave: missing <summary…>; usage: !break <service> <summary…> [--sev 1-4] [--env ENV] "
        "[--consumer CONSUMER]"
    )
    assert (await bot.say("dave", "!break pkg$db it broke")).text == (
        "dave: a service name is up to 64 letters, digits, '.', '-', '_' or '/', starting with "
        "a letter or digit; got 'pkg$db'"
    )
    assert (await bot.say("dave", "!mttr yesterday")).text == (
        "dave: usage: !mttr [deploy <name>|today|service <s>]"
    )
    assert (await bot.say("dave", "!mttr deploy nope")).text == "dave: no deploy named 'nope'"
    assert (await bot.say("alice", "!checkin sales")).text == (
        "alice: unknown team 'sales'; teams are infra, releng, docs, qa"
    )
    assert (await bot.say("dave", "!page nobody-here hi")).text == (
        "nobody-here is neither a team (infra, releng, docs, qa) nor someone I have seen here"
    )
    assert await counts(bot) == (0, 0)


async def test_transitions_that_make_no_sense(bot: Harness) -> None:
    await bot.say("dave", "!break pkgdb down")
    assert (await bot.say("alice", "!fixed 1")).text == "#1 pkgdb fixed by alice after 0s"
    assert (await bot.say("alice", "!fixed 1")).text == (
        "alice: #1 is already fixed; !reopen 1 [why] if it is broken again"
    )
    assert (await bot.say("alice", "!take 1")).text == (
        "alice: #1 is already fixed; !reopen 1 [why] if it is broken again"
    )
    assert (await bot.say("alice", "!reopen 1")).text == "#1 reopened by alice"
    assert (await bot.say("alice", "!reopen 1")).text == "alice: #1 is still open"
    assert (await bot.say("alice", "!take 1")).text == "#1 is now owned by alice"
    assert (await bot.say("alice", "!take 1")).text == "alice: #1 is already yours"
    assert (await bot.say("alice", "!dup 1 1")).text == "alice: #1 cannot be a duplicate of itself"
    assert (await bot.say("alice", "!dup 1 7")).text == "alice: there is no incident #7"
    assert await counts(bot) == (1, 4)  # reported, fixed, reopened, taken


async def test_control_characters_never_come_back(bot: Harness) -> None:
    said = await bot.say("dave", "!break pkgdb \x02bold\x02 \x0304red\x03 nul\x00 \r\nQUIT :bye")
    assert said.text == "#1 opened: [sev3] pkgdb: bold red nul  QUIT :bye — !take 1 to own it"
    shown = (await bot.say("dave", "!show 1")).text
    assert not any(ord(c) < 32 and c != "\n" for c in shown)


async def test_huge_text_is_refused_whole(bot: Harness) -> None:
    assert (await bot.say("dave", f"!break pkgdb {'x' * 10_240}")).text == (
        "dave: that command is 10,252 characters; I read at most 4,000: say it in shorter pieces"
    )
    huge = "x" * 3_500  # under that cap: each command's own limit answers
    assert (await bot.say("dave", f"!break pkgdb {huge}")).text == (
        "dave: the summary is 3500 characters; keep it under 300 and add details with !note"
    )
    assert await counts(bot) == (0, 0)
    await bot.say("dave", "!break pkgdb down")
    assert (await bot.say("dave", f"!note 1 {huge}")).text == (
        "dave: the text is 3500 characters; keep it under 1000"
    )
    assert (await bot.say("alice", f"!fixed 1 {huge}")).text == (
        "alice: the text is 3500 characters; keep it under 1000"
    )
    assert await counts(bot) == (1, 1)
    assert "#1 [sev3] pkgdb: down — open, unowned" in (await bot.say("dave", "!show 1")).text
    assert (await bot.say("dave", "!break pkgdb again")).text.startswith("#2 opened")


async def test_refusals_say_who_may(bot: Harness) -> None:
    await bot.say("dave", "!break pkgdb down")
    assert (await bot.say("dave", "!take 1")).text == (
        "dave: !take is for roster members; ask an admin to !roster add dave <team>"
    )
    assert (await bot.say("dave", "!deploy start x")).text == (
        "dave: !deploy start is for admins only (admins are listed in the bot's config)"
    )
    assert (await bot.say("dave", "!roster add dave infra")).text == (
        "dave: !roster add is for admins only (admins are listed in the bot's config)"
    )
    assert (await bot.say("dave", "!checkin infra")).text == (
        "dave: you are not on the infra roster; ask an admin to !roster add dave infra"
    )
    await bot.say("alice", "!deploy start x")
    assert (await bot.say("dave", "!lead dave")).text == (
        "dave: setting the lead is for admins; !lead shows who leads"
    )
    assert (await bot.say("alice", "!roster add dave infra")).text == "dave is on the infra roster"
    assert (await bot.say("dave", "!take 1")).text == (
        "#1 is now owned by dave (acknowledged 0s after the report)"
    )
    assert (await bot.say("alice", "!roster remove dave")).text == (
        "dave is off the roster (was infra)"
    )
    assert (await bot.say("dave", "!fixed 1")).text == (
        "dave: !fixed is for roster members; ask an admin to !roster add dave <team>"
    )
    assert (await bot.say("alice", "!roster remove dave")).text == "dave is not on the roster"


async def test_concurrent_reports_get_unique_numbers(bot: Harness) -> None:
    transport = bot.transport()
    await asyncio.gather(
        *(
            transport.deliver(
                Message(
                    "test",
                    Room("#ops"),
                    Sender(f"user{i}", f"user{i}"),
                    f"!break svc{i} broken {i}",
                )
            )
            for i in range(30)
        )
    )
    await bot.app.tracker.settle()
    numbers = sorted(int(s.text.split()[0][1:]) for s in transport.sent)
    assert numbers == list(range(1, 31))
    assert await counts(bot) == (30, 30)


async def test_one_persons_commands_run_in_order(bot: Harness) -> None:
    transport = bot.transport()
    lines = ["!break pkgdb down", "!take 1", "!note 1 looking", "!fixed 1 done"]
    for line in lines:  # delivered back to back without waiting for replies
        await transport.deliver(Message("test", Room("#ops"), Sender("alice", "alice"), line))
    await bot.app.tracker.settle()
    assert [s.text.split(" — ")[0] for s in transport.sent] == [
        "#1 opened: [sev3] pkgdb: down",
        "#1 is now owned by alice (acknowledged 0s after the report)",
        "noted on #1",
        "#1 pkgdb fixed by alice after 0s: done",
    ]


class Exploding(Plugin):
    name = "exploding"

    @command("explode", help="fails on purpose")
    async def explode(self, ctx: Context) -> None:
        raise RuntimeError("database on fire")


plugin = Exploding


async def test_an_internal_error_is_logged_and_the_bot_carries_on(tmp_path: Path, caplog) -> None:
    bot = await Harness.start(tmp_path / "x.sqlite3", plugins=["plugins.incidents", __name__])
    try:
        said = await bot.say("dave", "!explode")
        assert said.text.startswith("dave: !explode failed with an internal error (ref ")
        ref = said.text.split("(ref ")[1].split(")")[0]
        assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
        assert (await bot.say("dave", "!incidents")).text == "no open incidents"
    finally:
        await bot.close()


async def test_taking_over_someone_elses_incident_is_explicit(bot: Harness) -> None:
    await bot.say("alice", "!roster add bob infra")
    await bot.say("dave", "!break pkgdb down")
    await bot.say("bob", "!take 1")
    assert (await bot.say("alice", "!take 1")).text == (
        "alice: #1 is owned by bob; !assign 1 alice to take it over"
    )
    assert (await bot.say("alice", "!assign 1 alice")).text == "#1 assigned to alice by alice"


async def test_a_flooding_person_is_warned_once_then_ignored(tmp_path: Path) -> None:
    bot = await Harness.start(tmp_path / "r.sqlite3", rate_limit={"burst": 3, "per_minute": 6})
    try:
        for _ in range(3):
            assert (await bot.say("eve", "!incidents")).text == "no open incidents"
        assert (await bot.say("eve", "!incidents")).text == (
            "eve: slow down: I take 3 commands at once and 6 a minute from one person; "
            "ignoring yours for a moment"
        )
        assert (await bot.say("eve", "!incidents")).here == []
        assert (await bot.say("eve", "!incidents")).here == []
        assert (await bot.say("dave", "!incidents")).text == "no open incidents"  # others fine
        assert (await bot.say("eve", "just talking, not a command")).here == []
        await bot.advance(seconds=10)  # one command a 10 s comes back
        assert (await bot.say("eve", "!incidents")).text == "no open incidents"
        assert (await bot.say("eve", "!incidents")).text.startswith("eve: slow down")
    finally:
        await bot.close()
