"""What the encrypted-room tests share: the `e2e` extra required (a failure, not a skip, in
CI), the bot's encrypted network config, and the raw events a room holds on the
homeserver, read without decrypting anything, to prove what went over the wire."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.servers.matrix_bot import WAIT, matrix_network
from tests.servers.support import need
from tests.servers.synapse import Homeserver, MatrixUser

BOT_DEVICE = "DEPLOYDAYBOT"


def need_e2e() -> None:
    from nio.crypto import ENCRYPTION_ENABLED

    need("matrix-nio's e2e extra", ENCRYPTION_ENABLED, "pip install 'deployday[e2e]'")


async def encrypted_room(
    homeserver: Homeserver, bot_id: str, stores: Path, prefix: str
) -> tuple[MatrixUser, MatrixUser, str]:
    """alice and bob, encrypting clients with their keys under `stores`, in a new
    encrypted room (alias `#<prefix>N:localhost`) the bot is invited to: (alice, bob,
    room ID)."""
    alice, bob = await asyncio.gather(
        homeserver.user("alice", display_name="Alice", store=stores / "alice"),
        homeserver.user("bob", display_name="Bob", store=stores / "bob"),
    )
    room = await alice.create_room(alias=prefix, invite=(bot_id, bob.user_id), encrypted=True)
    await bob.wait_invite(room)
    await bob.join(room)
    return alice, bob, room


def encrypted_network(
    homeserver: Homeserver, user_id: str, rooms: list[str], store: Path, **extra: Any
) -> dict:
    """The bot's Matrix network with encryption on: a fixed device and its key store."""
    return matrix_network(
        homeserver,
        user_id,
        rooms,
        encryption=True,
        device_id=BOT_DEVICE,
        store_path=str(store),
        **extra,
    )


async def raw_events(homeserver: Homeserver, reader: MatrixUser, room_id: str) -> list[dict]:
    """Every timeline event of the room as the homeserver stores it (newest 1000), read
    with `reader`'s access token and no decryption."""
    url = f"{homeserver.url}/_matrix/client/v3/rooms/{quote(room_id)}/messages"
    headers = {"Authorization": f"Bearer {reader.client.access_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params={"dir": "b", "limit": "1000"}, headers=headers) as resp,
    ):
        resp.raise_for_status()
        return list((await resp.json())["chunk"])


async def types_sent_by(
    homeserver: Homeserver, reader: MatrixUser, room_id: str, sender: str
) -> list[str]:
    """The event types `sender` put in the room's timeline, oldest first (state aside)."""
    events = await raw_events(homeserver, reader, room_id)
    return [e["type"] for e in reversed(events) if e["sender"] == sender and "state_key" not in e]


class LogWatch(logging.Handler):
    """The bot's log lines (INFO and up) as they are written, so a test can wait for one
    instead of polling, and count them afterwards."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self._changed.set()

    def matching(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]

    async def wait_for(self, text: str, timeout: float = WAIT) -> str:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                found = self.matching(text)
                if found:
                    return found[0]
                await self._changed.wait()


@contextmanager
def watching() -> Iterator[LogWatch]:
    logger = logging.getLogger("bot")
    watch, level = LogWatch(), logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.INFO)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)


@pytest.fixture
def bot_log() -> Iterator[LogWatch]:
    with watching() as watch:
        yield watch
