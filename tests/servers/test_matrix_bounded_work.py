"""Anyone on any homeserver can send the bot a 60 KB message (issue 11, reproduction 6: it
used to freeze every network for ~43 s while the tokenizer rescanned it from every quote).
Now it is refused in one line, and someone else's command is answered meanwhile."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.clock import SystemClock
from tests.servers.matrix_bot import WAIT, bot_account, matrix_network, room_with, start_bot
from tests.servers.synapse import Homeserver

pytestmark = pytest.mark.servers

PROMPTLY = 5.0  # seconds; the round trip through Synapse is ~60 ms


async def test_a_60_kb_message_does_not_stall_anyone(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_id, password = await bot_account(synapse, monkeypatch)
    mallory, bob = await asyncio.gather(synapse.user("mallory"), synapse.user("bob"))
    room, alias = await room_with(synapse, bob, bot_id, mallory)
    bot = await start_bot(
        tmp_path / "stall.sqlite3",
        SystemClock(),
        {"fedora": matrix_network(synapse, bot_id, [alias])},
        bot_id,
        password,
    )
    try:
        hostile = "!note 1 " + "'a " * 20_000  # JSON keeps ' as is: 60,008 bytes of body
        await mallory.say(room, hostile)
        began = time.monotonic()
        await bob.say(room, "!incidents")
        answer = await bob.expect("^no open incidents$", sender=bot_id, room=room, timeout=PROMPTLY)
        assert answer.body == "no open incidents"
        assert time.monotonic() - began < PROMPTLY
        refused = await mallory.expect("that command is", sender=bot_id, room=room, timeout=WAIT)
        assert refused.body.endswith(  # addressed to her by display name
            ": that command is 60,006 characters; I read at most 4,000: say it in shorter pieces"
        )
    finally:
        await bot.stop()
        await asyncio.gather(mallory.close(), bob.close())
