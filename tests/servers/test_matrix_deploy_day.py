"""A deploy day played by two people and the bot in a room on a real Synapse, through the
whole bot: the replies they see, HTML that cannot be injected, mention pills that notify,
edits and the bot's own messages never taken as commands, and direct messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from tests.servers.matrix_bot import WAIT, MatrixBot, bot_account, matrix_network, start_bot
from tests.servers.synapse import Homeserver, MatrixUser, Received

pytestmark = pytest.mark.servers

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@dataclass
class Day:
    bot: MatrixBot
    clock: FakeClock
    room: str
    alice: MatrixUser
    bob: MatrixUser


@pytest.fixture
async def day(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Day]:
    """alice (an admin) and bob in a room the bot is configured for, by alias."""
    bot_id, password = await bot_account(synapse, monkeypatch)
    alice, bob = await asyncio.gather(
        synapse.user("alice", display_name="Alice"), synapse.user("bob", display_name="Bob")
    )
    alias = synapse.unique("deploy")
    room = await alice.create_room(alias=alias, invite=(bot_id, bob.user_id))
    await bob.wait_invite(room)
    await bob.join(room)
    clock = FakeClock(T0)
    bot = await start_bot(
        tmp_path / "day.sqlite3",
        clock,
        {"fedora": matrix_network(synapse, bot_id, [f"#{alias}:localhost"])},
        bot_id,
        password,
        admins=[alice.user_id],
    )
    try:
        yield Day(bot, clock, room, alice, bob)
    finally:
        await bot.stop()
        await asyncio.gather(alice.close(), bob.close())


async def answer(user: MatrixUser, day: Day, pattern: str) -> Received:
    return await user.expect(pattern, sender=day.bot.user_id, room=day.room, timeout=WAIT)


async def test_a_deploy_day_in_a_matrix_room(day: Day) -> None:
    alice, bob, room, clock = day.alice, day.bob, day.room, day.clock

    await alice.say(room, "!deploy start pkgdb2 --api-break packages API v2")
    started = await answer(bob, day, "Deploy day")
    assert started.body.splitlines()[0] == (
        "Deploy day: deploy pkgdb2 started by Alice — API BREAK — packages API v2"
    )
    assert started.html.startswith("<strong>Deploy day: </strong>")
    assert started.content["format"] == "org.matrix.custom.html"

    await alice.say(room, f"!roster add {bob.user_id} infra")
    assert (await answer(alice, day, "roster")).body.endswith("is on the infra roster")

    clock.set(T0 + timedelta(minutes=2))
    await bob.say(room, "!checkin")
    assert (await answer(bob, day, "on duty for")).body == "Bob is on duty for infra"

    clock.set(T0 + timedelta(minutes=5))
    await alice.say(room, '!break pkgdb <script>alert("x")</script> & <b>not bold</b>')
    opened = await answer(bob, day, "opened")
    assert opened.body == (
        '#1 opened: [sev3] pkgdb: <script>alert("x")</script> & <b>not bold</b> — !take 1 to own it'
    )
    assert "<script>" not in opened.html and "<b>" not in opened.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in opened.html

    await alice.say(room, f"!assign 1 {bob.user_id}")
    assigned = await answer(bob, day, "assigned to")
    assert assigned.body == "#1 assigned to Bob by Alice"
    assert assigned.mentioned == [bob.user_id]
    assert f'<a href="https://matrix.to/#/{bob.user_id}">Bob</a>' in assigned.html

    await alice.say(room, "!page infra pkgdb is down")
    page = await answer(bob, day, "page for infra")
    assert page.body == "Bob: page for infra from Alice (on duty: Bob) — pkgdb is down"
    assert page.mentioned == [bob.user_id]
    assert page.html.startswith(f'<a href="https://matrix.to/#/{bob.user_id}">Bob</a>: ')

    note = await bob.say(room, "!note 1 rolling back")
    assert (await answer(bob, day, "noted")).body == "noted on #1"
    # an edit of a command is not a new command: no second note, no error
    await bob.say(
        room,
        "* !note 1 rolling back twice",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "!note 1 rolling back twice"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": note},
        },
    )
    # a reply (with the quoted fallback clients add) is still a command
    await bob.say(
        room,
        f"> <{alice.user_id}> !page infra pkgdb is down\n\n!show 1",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": note}}},
    )
    shown = await answer(bob, day, "^#1 ")
    assert shown.body.count("rolling back") == 1, shown.body

    clock.set(T0 + timedelta(minutes=12))
    await bob.say(room, "!fixed 1 rolled back")
    assert (await answer(alice, day, "fixed by")).body == (
        "#1 pkgdb fixed by Bob after 7m: rolled back"
    )

    await alice.say(room, "!mttr")
    mttr = await answer(alice, day, "^MTTR")
    assert mttr.body.splitlines()[0] == "MTTR for deploy pkgdb2: 1 incident — 1 fixed"

    await bob.say(room, "!deploy end")
    assert (await answer(bob, day, "admins")).body == (
        "Bob: !deploy end is for admins only (admins are listed in the bot's config)"
    )
    # nothing the bot said itself was ever taken for a command (its replies start with
    # "#1", "Deploy day", … and "!take 1" appears inside one): no stray answers are left
    await alice.say(room, "!incidents all")
    assert (await answer(alice, day, "incident")).body.startswith("1 incident")
    assert not [m for m in bob.messages if m.sender == day.bot.user_id and "take" in m.body[:6]]


async def test_direct_messages_need_no_prefix(day: Day) -> None:
    alice, bot = day.alice, day.bot.user_id
    dm = await alice.create_room(invite=(bot,), direct=True)
    await alice.wait_membership(dm, bot, "join", timeout=WAIT)
    await alice.say(dm, "help")
    reply = await alice.expect("commands:", sender=bot, room=dm, timeout=WAIT)
    assert "in a private message no ! needed" in reply.body
    await alice.say(dm, "break koji builds stuck")
    opened = await alice.expect("opened", sender=bot, room=dm, timeout=WAIT)
    assert opened.body.startswith("#1 opened: [sev3] koji: builds stuck")
    # the new incident is announced in the configured room as well
    await day.bob.expect("new incident #1", sender=bot, room=day.room, timeout=WAIT)


async def test_invites_to_other_rooms_are_declined(day: Day, synapse: Homeserver) -> None:
    mallory = await synapse.user("mallory")
    try:
        room = await mallory.create_room(invite=(day.bot.user_id,))
        await mallory.wait_membership(room, day.bot.user_id, "leave", timeout=WAIT)
        await mallory.say(room, "!help")
        # a direct chat from mallory is still welcome (dm: anyone, the default)
        dm = await mallory.create_room(invite=(day.bot.user_id,), direct=True)
        await mallory.wait_membership(dm, day.bot.user_id, "join", timeout=WAIT)
        await mallory.say(dm, "whoami")
        await mallory.expect("you are", sender=day.bot.user_id, room=dm, timeout=WAIT)
        assert not [
            m for m in mallory.messages if m.room_id == room and m.sender != mallory.user_id
        ]
    finally:
        await mallory.close()


async def test_where_a_file_went_reaches_the_admin_in_their_direct_chat(day: Day) -> None:
    alice, bot = day.alice, day.bot.user_id
    await alice.say(day.room, "!break koji builds stuck")
    await answer(alice, day, "opened")
    # no direct chat with alice yet: the room gets the file's name, never its path
    await alice.say(day.room, "!export csv")
    first = await answer(alice, day, "exported")
    assert first.body == "exported 1 incident (1 event) to export-20261125T090000Z.csv"

    dm = await alice.create_room(invite=(bot,), direct=True)
    await alice.wait_membership(dm, bot, "join", timeout=WAIT)
    day.clock.set(T0 + timedelta(minutes=1))
    await alice.say(day.room, "!export json")
    second = await answer(alice, day, "exported")
    assert second.body == (
        "exported 1 incident (1 event) to export-20261125T090100Z.json "
        "(the path went to Alice privately)"
    )
    private = await alice.expect("exported", sender=bot, room=dm, timeout=WAIT)
    assert private.body.startswith("exported 1 incident (1 event): /")
    assert private.body.endswith("/exports/export-20261125T090100Z.json")
