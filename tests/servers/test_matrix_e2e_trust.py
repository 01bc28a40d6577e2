"""Trust in encrypted rooms, on a real Synapse with real encrypting clients: a blocked
device is never obeyed and never sent keys; a message the bot got no key for is logged
once and its sender told once (and one whose key comes late is still handled); with
`share_keys_with: verified` only devices the bot verified can read it, and an admin
verifies the bot's device by emoji, comparing with the bot's log."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from nio import Api, ToDeviceResponse
from nio.crypto import Sas, SasState

from bot.clock import FakeClock
from tests.servers.e2e import (
    BOT_DEVICE,
    LogWatch,
    encrypted_network,
    encrypted_room,
    need_e2e,
)
from tests.servers.matrix_bot import WAIT, MatrixBot, bot_account, start_bot
from tests.servers.synapse import Homeserver, MatrixUser, Received

pytestmark = pytest.mark.servers


@dataclass
class Room:
    """An encrypted room made by alice (an admin), with bob in it, for a bot to join."""

    synapse: Homeserver
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    bot_id: str
    password: str
    alias: str
    room: str
    alice: MatrixUser
    bob: MatrixUser
    others: list[MatrixUser] = field(default_factory=list)
    bot: MatrixBot | None = None

    async def person(self, prefix: str, name: str) -> MatrixUser:
        """Someone else, in the room before the bot starts."""
        user = await self.synapse.user(prefix, display_name=name, store=self.tmp / prefix)
        self.others.append(user)
        await self.alice.invite(self.room, user.user_id)
        await user.wait_invite(self.room)
        await user.join(self.room)
        return user

    async def start(self, **network: Any) -> MatrixBot:
        net = encrypted_network(
            self.synapse, self.bot_id, [self.alias], self.tmp / "keys", **network
        )
        self.bot = await start_bot(
            self.tmp / "bot.sqlite3",
            FakeClock(),
            {"fedora": net},
            self.bot_id,
            self.password,
            admins=[self.alice.user_id],
        )
        return self.bot

    async def answer(self, user: MatrixUser, pattern: str) -> Received:
        got = await user.expect(pattern, sender=self.bot_id, room=self.room, timeout=WAIT)
        assert got.encrypted
        return got

    def unreadable_from_bot(self, user: MatrixUser) -> int:
        return len([e for e in user.unreadable if e.sender == self.bot_id])


@pytest.fixture
async def scene(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Room]:
    need_e2e()
    bot_id, password = await bot_account(synapse, monkeypatch)
    local = synapse.unique("ops")
    alice, bob, room = await encrypted_room(synapse, bot_id, tmp_path, local)
    alias = f"#{local}:localhost"
    scene = Room(synapse, tmp_path, monkeypatch, bot_id, password, alias, room, alice, bob)
    try:
        yield scene
    finally:
        if scene.bot is not None:
            await scene.bot.stop()
        await asyncio.gather(*(u.close() for u in (alice, bob, *scene.others)))


async def test_blocked_devices_and_messages_the_bot_cannot_read(
    scene: Room, bot_log: LogWatch
) -> None:
    """A blocked device is never obeyed nor sent keys; a message without its key is read
    when the key comes late, else logged once and its sender told once."""
    mallory = await scene.person("mallory", "Mallory")
    bot = await scene.start(blocked_devices={mallory.user_id: [mallory.device_id]}, key_wait=2)
    alice, room = scene.alice, scene.room
    await mallory.say(room, "!break web pwned")
    await mallory.say(room, "!deploy start evil")
    await _say_with_the_key_late(alice, room, "!break web late", bot_log)
    assert (await scene.answer(alice, "opened")).body.startswith("#1 opened: [sev3] web: late")
    await mallory.until(lambda: scene.unreadable_from_bot(mallory) >= 1, WAIT)
    assert not [m for m in mallory.messages if m.sender == scene.bot_id]
    assert len(bot_log.matching(f"ignoring messages from {mallory.user_id}'s blocked device")) == 1

    bot_device = alice.client.device_store[scene.bot_id][BOT_DEVICE]
    alice.client.blacklist_device(bot_device)  # alice's client keeps its new key from the bot
    await alice.say(room, "!break web lost")
    await alice.say(room, "!break web lost again")
    told = await scene.answer(alice, "could not read")
    assert told.body.startswith(
        f"Alice: I could not read your message: your client did not send my device "
        f"({BOT_DEVICE}) its key."
    )
    assert told.mentioned == [alice.user_id]
    await scene.bob.say(room, "!incidents all")
    assert (await scene.answer(scene.bob, "incident")).body.startswith("1 incident")
    assert not [m for m in alice.messages if "could not read" in m.body]
    assert len(bot_log.matching(f"cannot decrypt a message from {alice.user_id}")) == 2
    assert not bot_log.matching(f"cannot decrypt a message from {mallory.user_id}")
    assert bot.matrix.ready


async def _say_with_the_key_late(user: MatrixUser, room: str, text: str, bot_log: LogWatch) -> None:
    """Send `text` encrypted with a new room key, and the key to the room's devices only
    once the bot found it could not read the message: what a slow federation does to
    to-device messages."""
    client = user.client
    assert client.olm is not None
    await client.joined_members(room)
    await client.keys_claim(client.get_missing_sessions(room))
    client.olm.create_outbound_group_session(room)
    members = list(client.rooms[room].users)
    keys = list(client.olm.share_group_session_parallel(room, members, True))
    client.olm.outbound_group_sessions[room].shared = True
    kind, content = client.encrypt(room, "m.room.message", {"msgtype": "m.text", "body": text})
    resp = await client.send(*Api.room_send(client.access_token, room, kind, content, uuid4()))
    resp.raise_for_status()
    await bot_log.wait_for(f"cannot decrypt a message from {user.user_id}")
    for _, batch in keys:
        resp = await client.send(*Api.to_device(client.access_token, kind, batch, uuid4()))
        resp.raise_for_status()


async def test_verified_devices_only_and_emoji_verification_by_an_admin(
    scene: Room, bot_log: LogWatch
) -> None:
    carol = await scene.person("carol", "Carol")
    mallory = await scene.person("mallory", "Mallory")
    await scene.start(
        share_keys_with="verified", trusted_devices={carol.user_id: [carol.device_id]}
    )
    alice, bob, room = scene.alice, scene.bob, scene.room
    await bob.say(room, "!whoami")  # read (and obeyed), but answered for verified eyes only
    assert (await scene.answer(carol, "you are")).body.startswith("you are Bob")
    await bob.until(lambda: scene.unreadable_from_bot(bob) == 1, WAIT)
    await alice.until(lambda: scene.unreadable_from_bot(alice) == 1, WAIT)

    # mallory is no admin: the bot refuses to verify with her (her client drops it)
    refused = await _start_verification(mallory, scene.bot_id)
    await mallory.until(lambda: refused not in mallory.client.key_verifications, WAIT)
    # alice compares the emoji her client shows with the bot's log line, then confirms
    tx = await _start_verification(alice, scene.bot_id)

    def sas() -> Sas:
        return alice.client.key_verifications[tx]

    await alice.until(lambda: sas().state is SasState.key_received, WAIT)
    shown = "  ".join(f"{symbol} {name}" for symbol, name in sas().get_emoji())
    line = await bot_log.wait_for(f"emoji verification with {alice.user_id} ({alice.device_id})")
    assert shown in line
    await alice.client.confirm_short_auth_string(sas().transaction_id)
    await alice.until(lambda: sas().verified, WAIT)
    assert alice.client.device_store[scene.bot_id][BOT_DEVICE].verified

    await bob.say(room, "!oncall")
    answer = await scene.answer(alice, "on duty")  # alice's device now gets the keys
    assert (await scene.answer(carol, "on duty")).body == answer.body
    await bob.until(lambda: scene.unreadable_from_bot(bob) == 2, WAIT)
    assert not [m for m in bob.messages if m.sender == scene.bot_id]
    assert bot_log.matching(f"verified device {alice.device_id} of {alice.user_id}")
    assert re.search("refused verification from .*mallory", "\n".join(bot_log.matching("refused")))


async def _start_verification(user: MatrixUser, bot_id: str) -> str:
    """Start emoji verification of the bot's device from `user`'s client; its id."""
    device = user.client.device_store[bot_id][BOT_DEVICE]
    resp = await user.client.start_key_verification(device)
    assert isinstance(resp, ToDeviceResponse), resp
    return str(resp.to_device_message.content["transaction_id"])
