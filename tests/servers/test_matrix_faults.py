"""Matrix under faults, with real processes: Synapse stopped and started again (sync
resumes from the stored token, nothing replayed, nothing skipped), and the bot killed
with SIGKILL while commands arrive (nothing acknowledged lost, nothing run twice)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
from pathlib import Path

import pytest

from bot.clock import SystemClock
from tests.servers.matrix_bot import WAIT, bot_account, matrix_network, start_bot
from tests.servers.support import run_bot
from tests.servers.synapse import Homeserver, MatrixUser, Received

pytestmark = pytest.mark.servers

OPENED = re.compile(r"^#(\d+) opened: \[sev3\] (\S+): ")


async def test_synapse_restart_resumes_without_replay_or_skip(
    private_synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hs = private_synapse
    bot_id, password = await bot_account(hs, monkeypatch)
    alice = await hs.user("alice")
    local = hs.unique("ops")
    room = await alice.create_room(alias=local, invite=(bot_id,))
    network = {"mx": matrix_network(hs, bot_id, [f"#{local}:localhost"])}
    bot = await start_bot(tmp_path / "bot.sqlite3", SystemClock(), network, bot_id, password)
    try:
        await alice.say(room, "!break web before")
        await alice.expect("#1 opened", sender=bot_id, room=room, timeout=WAIT)

        hs.server.stop()
        await asyncio.sleep(0)
        hs.server.start()  # same port and database
        alice_id = alice.user_id
        await alice.close()
        alice = await MatrixUser.login(hs.url, alice_id, f"pw-{alice_id[1:].split(':')[0]}")
        # sent as soon as the homeserver is back, perhaps before the bot's sync resumed:
        # it must be picked up from the stored token, not skipped
        await alice.say(room, "!break web after")
        got = await alice.expect("opened", sender=bot_id, room=room, timeout=WAIT * 2)
        assert got.body.startswith("#2 opened: [sev3] web: after")  # #1 was not replayed
        await alice.say(room, "!incidents all")
        listing = await alice.expect("incidents", sender=bot_id, room=room, timeout=WAIT)
        assert listing.body.splitlines()[0] == "2 incidents"
    finally:
        await bot.stop()
        await alice.close()


async def test_sigkill_loses_nothing_acknowledged_and_replays_nothing(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_id, password = await bot_account(synapse, monkeypatch)
    alice = await synapse.user("alice")
    local = synapse.unique("crash")
    room = await alice.create_room(alias=local, invite=(bot_id,))
    config = tmp_path / "config.yaml"
    config.write_text(
        "database: sqlite:///bot.sqlite3\n"
        "rate_limit: {burst: 1000, per_minute: 6000}\n"
        f"networks:\n  mx:\n    kind: matrix\n    homeserver: {synapse.url}\n"
        f"    user_id: '{bot_id}'\n    password_env: DD_TEST_MATRIX_PASSWORD\n"
        f"    rooms: ['#{local}:localhost']\n"
    )
    env = {**os.environ, "DD_TEST_MATRIX_PASSWORD": password}
    acknowledged: dict[str, int] = {}
    cycles, burst = 3, 12

    def record(m: Received) -> None:
        hit = OPENED.match(m.body)
        if hit:
            assert hit[2] not in acknowledged, f"{hit[2]} was acknowledged twice"
            acknowledged[hit[2]] = int(hit[1])

    async def start() -> asyncio.subprocess.Process:
        proc = await run_bot(config, env=env, capture=False)
        await alice.say(room, "!incidents")  # answered once the bot is synced and serving
        await alice.expect("incident", sender=bot_id, room=room, timeout=WAIT * 3)
        return proc

    proc = None
    try:
        for cycle in range(cycles):
            proc = await start()
            for i in range(burst):
                await alice.say(room, f"!break svc{cycle}-{i} broken")
            for _ in range(2 + cycle * 3):
                record(await alice.next_message(lambda m: m.sender == bot_id, timeout=WAIT))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            while True:  # anything already delivered was acknowledged too
                try:
                    record(await alice.next_message(lambda m: m.sender == bot_id, timeout=0.5))
                except TimeoutError:
                    break
        # the restarted bot catches up on commands the killed one never read, and runs
        # none of the handled ones again
        proc = await start()
        await alice.say(room, "!incidents all")
        await alice.expect("incidents", sender=bot_id, room=room, timeout=WAIT)
        late = [m for m in alice.messages if m.sender == bot_id and OPENED.match(m.body)]
        for m in late:
            record(m)
        proc.send_signal(signal.SIGTERM)
        assert await proc.wait() == 0
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
        await alice.close()

    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        rows = db.execute("select number, service from incidents").fetchall()
    stored = {service: number for number, service in rows}
    assert len(stored) == len(rows), "a command ran twice"
    assert {s: n for s, n in acknowledged.items() if stored.get(s) != n} == {}
    assert len(acknowledged) >= 2 * cycles
    print(
        f"\nmatrix kill -9 cycles: {cycles}; fired {cycles * burst}; acknowledged "
        f"{len(acknowledged)}; stored {len(rows)}; lost 0; run twice 0"
    )
