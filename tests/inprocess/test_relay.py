"""One instance per network, one shared database: announcements made on one instance
reach the networks the others serve, through the relay table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FakeClock
from bot.devtools.harness import Harness
from bot.messages import Line, Mention, Reply, Span, Table, bold, reply_from_json, reply_to_json

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_replies_survive_the_trip_as_json() -> None:
    reply = Reply.of(
        [bold("#1"), Span(" owned by ", "plain"), Mention("bob", (("irc", "bob", "Bob"),))],
        Line((Span("ünïcode ✓ <b>", "code"),)),
        Table(("id", "service"), (("1", "pkgdb"),)),
    )
    assert reply_from_json(reply_to_json(reply)) == reply


async def test_announcements_cross_to_the_network_another_instance_serves(
    database_url: str,
) -> None:
    clock = FakeClock(T0)
    common = {
        "database_url": database_url,
        "clock": clock,
        "admins": ["alice@libera", "alice@fedora"],
        "coordination": {"lease": True, "lease_seconds": 30},
    }
    irc = await Harness.start(Path("unused"), networks={"libera": ("#ops", "#noc")}, **common)
    matrix = await Harness.start(
        Path("unused"), networks={"fedora": ("!room:example.org",)}, **common
    )
    try:
        said = await irc.say("dave", "!break pkgdb down", network="libera", room="#ops")
        assert [(s.network, s.room) for s in said.elsewhere] == [("libera", "#noc")]
        assert matrix.transport("fedora").sent == []
        await matrix.advance(seconds=1)  # the other instance picks it up
        [relayed] = matrix.transport("fedora").sent
        assert (relayed.room, relayed.text) == (
            "!room:example.org",
            "new incident #1 [sev3] pkgdb: down (reported by dave)",
        )

        # and back: the fix announced on Matrix reaches both IRC channels
        await matrix.say("alice", "!fixed 1 restarted", network="fedora", room="!room:example.org")
        before = len(irc.transport("libera").sent)
        await irc.advance(seconds=1)
        sent = irc.transport("libera").sent[before:]
        assert sorted(s.room for s in sent) == ["#noc", "#ops"]
        assert {s.text for s in sent} == {"#1 pkgdb fixed by alice after 1s: restarted"}
        await irc.advance(seconds=5)  # delivered once, not again
        assert len(irc.transport("libera").sent) == before + 2
    finally:
        await irc.close()
        await matrix.close()
