"""A short deploy day in an encrypted room on a real Synapse, through the whole bot with
`encryption: true`, among real encrypting clients (matrix-nio with vodozemac, each its own
device and key store): commands arrive encrypted and are handled; replies, announcements,
a page and a reminder decrypt on every device, including one that joined after the bot
started and a second device a person added meanwhile; an incident reported on IRC is
announced into the room; and the bot never put a plain-text event in it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser
from tests.servers.e2e import encrypted_network, encrypted_room, need_e2e, types_sent_by
from tests.servers.ircd import IrcServer, irc_network
from tests.servers.matrix_bot import WAIT, bot_account, start_bot
from tests.servers.synapse import Homeserver, MatrixUser, Received

pytestmark = pytest.mark.servers

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
REMINDERS = {
    "enabled": True,
    "check_every": 1,
    "unowned_after": {"sev1": 5, "sev2": 10, "sev3": 20, "sev4": 60},
}


async def from_bot(user: MatrixUser, bot_id: str, room: str, pattern: str) -> Received:
    """The bot's next message matching `pattern`, which must have arrived encrypted."""
    got = await user.expect(pattern, sender=bot_id, room=room, timeout=WAIT)
    assert got.encrypted, f"{user.device_id} got {got.body!r} in plain text"
    return got


async def test_a_deploy_day_in_an_encrypted_room(
    synapse: Homeserver, miniircd: IrcServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_e2e()
    bot_id, password = await bot_account(synapse, monkeypatch)
    local = synapse.unique("deploy")
    alice, bob, room = await encrypted_room(synapse, bot_id, tmp_path, local)
    channel, reporter_nick = synapse.unique("#noc"), synapse.unique("dave")
    reporter = await IrcUser.connect(miniircd.host, miniircd.port, reporter_nick, timeout=WAIT)
    await reporter.join(channel)
    clock = FakeClock(T0)
    networks = {
        "libera": irc_network(miniircd, f"ddcrypt{miniircd.port % 1000}", channel),
        "fedora": encrypted_network(synapse, bot_id, [f"#{local}:localhost"], tmp_path / "keys"),
    }
    bot = await start_bot(
        tmp_path / "day.sqlite3",
        clock,
        networks,
        bot_id,
        password,
        admins=[alice.user_id],
        reminders=REMINDERS,
    )
    people = [alice, bob]
    try:
        await alice.say(room, "!deploy start pkgdb2 --api-break packages API v2")
        started = await from_bot(bob, bot_id, room, "Deploy day")
        assert started.body.startswith("Deploy day: deploy pkgdb2 started by Alice — API BREAK")
        await alice.say(room, f"!roster add {bob.user_id} infra")
        await from_bot(alice, bot_id, room, "infra roster")
        await bob.say(room, "!checkin")
        assert (await from_bot(bob, bot_id, room, "on duty")).body == "Bob is on duty for infra"

        # after the bot started: carol joins the room, bob logs in on a second device
        newcomers_since = time.time() * 1000  # what the bot said before cannot be theirs
        carol = await synapse.user("carol", display_name="Carol", store=tmp_path / "carol")
        people.append(carol)
        await alice.invite(room, carol.user_id)
        await carol.wait_invite(room)
        await carol.join(room)
        bob_phone = await synapse.another_device(bob, tmp_path / "bob-phone")
        people.append(bob_phone)
        await carol.say(room, "!oncall")
        assert "Bob" in (await from_bot(carol, bot_id, room, "infra")).body
        await bob_phone.say(room, "!whoami")
        assert (await from_bot(bob_phone, bot_id, room, "you are")).body.startswith("you are Bob")

        # an IRC report is announced into the encrypted room, for every device there
        reporter.say(channel, "!break pkgdb --sev 1 API returns 500")
        for person in people:
            announced = await from_bot(person, bot_id, room, "new incident #1")
            assert f"(reported by {reporter_nick})" in announced.body

        await alice.say(room, "!page infra pkgdb is down")
        for device in (bob, bob_phone):
            page = await from_bot(device, bot_id, room, "page for infra")
            assert page.body == "Bob: page for infra from Alice (on duty: Bob) — pkgdb is down"
            assert page.mentioned == [bob.user_id]

        clock.set(T0 + timedelta(minutes=6))  # sev1 unowned for more than 5 minutes
        reminder = await from_bot(carol, bot_id, room, "no owner")
        assert reminder.body.startswith("Bob: #1 [sev1] pkgdb: API returns 500 has had no owner")

        await bob_phone.say(room, "!take 1")
        await from_bot(bob, bot_id, room, "owned by Bob")
        await bob.say(room, "!fixed 1 rolled back")
        for person in people:
            await from_bot(person, bot_id, room, "fixed by Bob")
        unreadable = [
            (p.device_id, e.event_id)
            for p in people
            for e in p.unreadable
            if e.sender == bot_id and e.server_timestamp > newcomers_since
        ]
        assert unreadable == []
        sent = await types_sent_by(synapse, alice, room, bot_id)
        assert sent == ["m.room.encrypted"] * 10  # each answer above, nothing in plain text
    finally:
        await reporter.quit()
        await bot.stop()
        await asyncio.gather(*(p.close() for p in people))
