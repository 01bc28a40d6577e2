"""A real `deployday run` process in an encrypted room on Synapse, restarted: after SIGTERM
and after kill -9 it still reads what an encrypting client sends with the key session it
already had (the keys live in `store_path`, the device ID is fixed). Then, with its key
store gone, the bot logs one line and sends nothing at all, and comes back under a new
device ID, the recovery the README gives. The starts after the kill run in this process:
they read the same database and key store, and spare the test a process start each."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import pytest
import yaml

from bot.app import App
from bot.clock import FakeClock
from bot.loading import build_config
from bot.store import Store
from bot.transports import build_transports
from tests.servers.e2e import LogWatch, encrypted_network, need_e2e, types_sent_by
from tests.servers.matrix_bot import WAIT, bot_account, start_bot
from tests.servers.support import run_bot
from tests.servers.synapse import Homeserver, MatrixUser

pytestmark = pytest.mark.servers

NEW_DEVICE = "DEPLOYDAYBOT2"
LOST = "does not hold"


class Bot:
    """`deployday run -c CONFIG` in its own process, its log lines (WARNING and up) kept."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config, self.env = config, env
        self.proc: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._line = asyncio.Event()

    async def start(self) -> None:
        self.proc = await run_bot(self.config, env=self.env)
        self._reader = asyncio.create_task(self._read(self.proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            self.log.append(raw.decode(errors="replace").rstrip())
            self._line.set()

    async def logged(self, text: str) -> None:
        async with asyncio.timeout(WAIT):
            while not any(text in line for line in self.log):
                self._line.clear()
                await self._line.wait()

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), WAIT)
        if self._reader is not None:
            await self._reader
        return code


def write_config(path: Path, network: dict, admin: str) -> None:
    config = {"database": "sqlite:///bot.sqlite3", "admins": [admin], "networks": {"mx": network}}
    path.write_text(yaml.safe_dump(config))


async def test_restarts_keep_the_keys_and_a_lost_store_sends_nothing(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bot_log: LogWatch
) -> None:
    need_e2e()
    bot_id, password = await bot_account(synapse, monkeypatch)
    alice = await synapse.user("alice", display_name="Alice", store=tmp_path / "alice")
    local = synapse.unique("ops")
    room = await alice.create_room(alias=local, invite=(bot_id,), encrypted=True)
    network = encrypted_network(synapse, bot_id, [f"#{local}:localhost"], Path("keys"))
    config = tmp_path / "config.yaml"
    write_config(config, network, alice.user_id)
    bot = Bot(config, {**os.environ, "DD_TEST_MATRIX_PASSWORD": password})

    async def answer(pattern: str) -> str:
        got = await alice.expect(pattern, sender=bot_id, room=room, timeout=WAIT)
        assert got.encrypted
        return got.body

    try:
        await bot.start()
        await alice.wait_membership(room, bot_id, "join", timeout=WAIT)
        await alice.say(room, "!break web one")
        assert (await answer("opened")).startswith("#1 opened")
        alice_session = _outbound(alice, room)

        assert await bot.stop() == 0  # SIGTERM
        await bot.start()
        await alice.say(room, "!break web two")  # still in the key session from before
        assert (await answer("opened")).startswith("#2 opened")
        assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
        # the process after kill -9 is this one (one real process start less to wait for)
        here = {"mx": {**network, "store_path": str(tmp_path / "keys")}}
        again = await start_bot(tmp_path / "bot.sqlite3", FakeClock(), here, bot_id, password)
        try:
            await alice.say(room, "!break web three")
            assert (await answer("opened")).startswith("#3 opened")
        finally:
            await again.stop()
        assert _outbound(alice, room) == alice_session

        shutil.rmtree(tmp_path / "keys")
        before = await types_sent_by(synapse, alice, room, bot_id)
        app = await _start_app(tmp_path / "bot.sqlite3", here["mx"])
        try:
            await bot_log.wait_for(LOST)
            await alice.say(room, "!incidents all")
        finally:
            await app.stop()
        assert len(bot_log.matching(LOST)) == 1
        assert await types_sent_by(synapse, alice, room, bot_id) == before  # not one event

        # the recovery: a new device ID (and the old device signed out, not needed here)
        recovered = {"mx": {**here["mx"], "device_id": NEW_DEVICE}}
        again = await start_bot(tmp_path / "bot.sqlite3", FakeClock(), recovered, bot_id, password)
        try:
            await alice.until(lambda: NEW_DEVICE in alice.client.device_store[bot_id], WAIT)
            await alice.say(room, "!incidents all")
            assert (await answer("incidents")).startswith("3 incidents")
        finally:
            await again.stop()
        assert set(await types_sent_by(synapse, alice, room, bot_id)) == {"m.room.encrypted"}
    finally:
        if bot.proc is not None and bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
        await alice.close()


async def _start_app(database: Path, network: dict) -> App:
    """The bot in this process, without waiting for it to be ready (it never will be)."""
    config = build_config({"database": f"sqlite:///{database}", "networks": {"mx": network}})
    store = Store(config.database_url)
    app = App(config, build_transports(config, FakeClock(), store), clock=FakeClock(), store=store)
    await app.start()
    return app


def _outbound(user: MatrixUser, room: str) -> str:
    """The id of the key session `user`'s client encrypts the room's messages with."""
    assert user.client.olm is not None
    return str(user.client.olm.outbound_group_sessions[room].id)
