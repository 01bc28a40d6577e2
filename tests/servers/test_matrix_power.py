"""Room power levels as admin rights (configurable): in a configured room, the room's
creator (power 100) may start a deploy although not listed as an admin; a member with
power 0 may not; and power in a direct chat counts for nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.clock import FakeClock
from tests.servers.matrix_bot import WAIT, bot_account, matrix_network, room_with, start_bot
from tests.servers.synapse import Homeserver

pytestmark = pytest.mark.servers


async def test_power_levels_grant_admin_rights_in_configured_rooms(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_id, password = await bot_account(synapse, monkeypatch)
    owner, member = await asyncio.gather(synapse.user("owner"), synapse.user("member"))
    room, alias = await room_with(synapse, owner, bot_id, member)
    network = matrix_network(synapse, bot_id, [alias], admin_power_level=50)
    bot = await start_bot(tmp_path / "p.sqlite3", FakeClock(), {"mx": network}, bot_id, password)
    try:
        await member.say(room, "!deploy start sneaky")
        refused = await member.expect("admins", sender=bot_id, room=room, timeout=WAIT)
        assert refused.body.endswith(
            "!deploy start is for admins only (admins are listed in the bot's config)"
        )
        await owner.say(room, "!deploy start pkgdb2")
        started = await owner.expect("Deploy day", sender=bot_id, room=room, timeout=WAIT)
        assert started.body.startswith("Deploy day: deploy pkgdb2 started by")

        direct = await member.create_room(invite=(bot_id,), direct=True)
        await member.say(direct, "deploy end")  # member has power 100 in its own DM
        answer = await member.expect("admins", sender=bot_id, room=direct, timeout=WAIT)
        assert "!deploy end is for admins only" in answer.body
    finally:
        await bot.stop()
        await asyncio.gather(owner.close(), member.close())
