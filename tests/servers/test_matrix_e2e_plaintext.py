"""Never plain text into an encrypted room, on a real Synapse: a bot without encryption
answers and announces in a plain room, but puts not one event into an encrypted room,
whether the room was encrypted from the start or turned encrypted during the day (what
the homeserver holds is checked, not what a client shows)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.clock import FakeClock
from tests.servers.e2e import LogWatch, need_e2e, types_sent_by
from tests.servers.matrix_bot import WAIT, bot_account, matrix_network, start_bot
from tests.servers.synapse import ENCRYPTION, Homeserver

pytestmark = pytest.mark.servers


async def test_a_bot_without_encryption_never_writes_into_an_encrypted_room(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bot_log: LogWatch
) -> None:
    need_e2e()  # for bob's client
    bot_id, password = await bot_account(synapse, monkeypatch)
    alice = await synapse.user("alice", display_name="Alice")  # a client without encryption
    bob = await synapse.user("bob", display_name="Bob", store=tmp_path / "bob")
    plain_alias, secret_alias = synapse.unique("plain"), synapse.unique("secret")
    plain = await alice.create_room(alias=plain_alias, invite=(bot_id,))
    secret = await alice.create_room(
        alias=secret_alias, invite=(bot_id, bob.user_id), encrypted=True
    )
    await bob.wait_invite(secret)
    await bob.join(secret)
    rooms = [f"#{plain_alias}:localhost", f"#{secret_alias}:localhost"]
    bot = await start_bot(
        tmp_path / "plain.sqlite3",
        FakeClock(),
        {"fedora": matrix_network(synapse, bot_id, rooms)},
        bot_id,
        password,
        admins=[alice.user_id],
    )
    try:
        await bob.say(secret, "!help")  # encrypted: the bot cannot read it
        await bob.say(secret, "!oncall")
        await alice.say(secret, "!whoami")  # plain text in an encrypted room: read, not answered
        await alice.say(plain, "!deploy start pkgdb2")  # announced in both rooms
        await alice.expect("Deploy day", sender=bot_id, room=plain, timeout=WAIT)
        await bot_log.wait_for(f"not sending to {secret}: it is encrypted")

        await alice.client.room_put_state(plain, "m.room.encryption", ENCRYPTION)
        await alice.say(plain, "!deploy")
        await bot_log.wait_for(f"not sending to {plain}: it is encrypted")

        assert await types_sent_by(synapse, alice, secret, bot_id) == []
        assert await types_sent_by(synapse, alice, plain, bot_id) == ["m.room.message"]
        assert len(bot_log.matching(f"{secret} is encrypted and encryption is not enabled")) == 1
    finally:
        await bot.stop()
        await asyncio.gather(alice.close(), bob.close())
