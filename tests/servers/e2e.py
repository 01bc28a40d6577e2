"""What the encrypted-room tests share: the `e2e` extra required (a failure, not a skip, in
CI), the bot's encrypted network config, and the raw events a room holds on the
homeserver, read without decrypting anything, to prove what went over the wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from tests.servers.matrix_bot import matrix_network
from tests.servers.support import need
from tests.servers.synapse import Homeserver, MatrixUser

BOT_DEVICE = "DEPLOYDAYBOT"


def need_e2e() -> None:
    from nio.crypto import ENCRYPTION_ENABLED

    need("matrix-nio's e2e extra", ENCRYPTION_ENABLED, "pip install 'deployday[e2e]'")


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
