"""Restarts on a real Synapse: nothing runs twice, nothing sent while the bot was down is
missed (even past a `limited` sync), history is never taken for commands on a first
start, stale commands are ignored, and the saved session is reused (or replaced by a
password login when it was revoked)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nio import AsyncClient
from sqlalchemy import select

from bot.app import App
from bot.clock import FakeClock, SystemClock
from bot.loading import build_config
from bot.state import State
from bot.store import Store
from bot.transports.matrix import MatrixTransport
from plugins.models import IncidentEvent
from tests.servers.matrix_bot import WAIT, MatrixBot, bot_account, matrix_network, start_bot
from tests.servers.synapse import Homeserver, MatrixUser, Received

pytestmark = pytest.mark.servers


@dataclass
class Scene:
    synapse: Homeserver
    tmp: Path
    bot_id: str
    password: str
    alias: str
    room: str
    alice: MatrixUser

    def network(self, **extra: object) -> dict[str, dict]:
        return {"mx": matrix_network(self.synapse, self.bot_id, [self.alias], **extra)}

    async def bot(self, database: str = "bot.sqlite3") -> MatrixBot:
        return await start_bot(
            self.tmp / database,
            FakeClock(),
            self.network(),
            self.bot_id,
            self.password,
            admins=[self.alice.user_id],
        )

    async def answer(self, pattern: str) -> Received:
        return await self.alice.expect(pattern, sender=self.bot_id, room=self.room, timeout=WAIT)

    def bot_said(self, pattern: str) -> list[str]:
        """Unread messages of the bot containing `pattern` (after the expected ones)."""
        mine = [m.body for m in self.alice.messages if m.sender == self.bot_id]
        return [body for body in mine if pattern in body]


@pytest.fixture
async def scene(
    synapse: Homeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Scene]:
    bot_id, password = await bot_account(synapse, monkeypatch)
    alice = await synapse.user("alice")
    local = synapse.unique("ops")
    room = await alice.create_room(alias=local, invite=(bot_id,))
    try:
        yield Scene(synapse, tmp_path, bot_id, password, f"#{local}:localhost", room, alice)
    finally:
        await alice.close()


async def test_a_restart_runs_nothing_twice_and_misses_nothing(scene: Scene) -> None:
    bot = await scene.bot()
    assert bot.matrix.logins == 1
    await scene.alice.say(scene.room, "!break web one")
    await scene.answer("#1 opened")
    await bot.stop()

    # while the bot is down: a command, then more chatter than one sync returns, so the
    # restarted bot gets a `limited` timeline and must page back to find the command
    await scene.alice.say(scene.room, "!break web two")
    for i in range(60):
        await scene.alice.say(scene.room, f"chatter {i}")

    bot = await scene.bot()
    try:
        assert bot.matrix.logins == 0  # the saved access token and device were reused
        assert (await scene.answer("opened")).body.startswith("#2 opened: [sev3] web: two")
        await scene.alice.say(scene.room, "!incidents all")
        listing = await scene.answer("incidents")
        assert listing.body.startswith("2 incidents")
        assert scene.bot_said("opened") == []
    finally:
        await bot.stop()


async def test_a_first_start_takes_no_command_from_history(scene: Scene) -> None:
    bot = await scene.bot("first.sqlite3")
    await bot.stop()
    await scene.alice.say(scene.room, "!break web from history")
    # a new database: no sync token, no session; the bot is already in the room and its
    # first sync returns the old command in the timeline
    bot = await scene.bot("second.sqlite3")
    try:
        assert bot.matrix.logins == 1
        await scene.alice.say(scene.room, "!incidents all")
        assert (await scene.answer("incidents")).body == "no incidents"
        assert scene.bot_said("opened") == []
    finally:
        await bot.stop()


class _AheadClock:
    """Real time plus an adjustable offset: makes fresh messages look old."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def sleep_until(self, when: datetime) -> None:
        await asyncio.sleep(max(0.0, (when - self.now()).total_seconds()))


async def test_commands_older_than_the_window_are_ignored(scene: Scene) -> None:
    bot = await scene.bot()
    await bot.stop()
    await scene.alice.say(scene.room, "!break web stale")

    wall = _AheadClock()
    wall.offset = timedelta(seconds=301)  # past the default command_max_age of 300 s
    clock = FakeClock()
    config = build_config(
        {"database": f"sqlite:///{scene.tmp / 'bot.sqlite3'}", "networks": scene.network()}
    )
    store = Store(config.database_url)
    transport = MatrixTransport(
        "mx", config.networks["mx"], clock=clock, tz=config.tz, state=State(store), wall=wall
    )
    app = App(config, [transport], clock=clock, store=store)
    await app.start()
    try:
        async with asyncio.timeout(WAIT):
            await transport.wait_ready()  # the first sync after the restart is handled
        wall.offset = timedelta(0)
        await scene.alice.say(scene.room, "!incidents all")
        assert (await scene.answer("incident")).body == "no incidents"
    finally:
        await app.stop()


async def test_a_revoked_session_falls_back_to_the_password(scene: Scene) -> None:
    bot = await scene.bot()
    await bot.stop()
    store = Store(build_config({"database": f"sqlite:///{scene.tmp / 'bot.sqlite3'}"}).database_url)
    session = await State(store).get_json("matrix:mx:session")
    await store.dispose()
    revoker = AsyncClient(scene.synapse.url, scene.bot_id)
    revoker.restore_login(scene.bot_id, session["device_id"], session["access_token"])
    await revoker.logout()
    await revoker.close()

    bot = await scene.bot()
    try:
        assert bot.matrix.logins == 1
        assert bot.matrix.device_id == session["device_id"]  # the same device, logged in again
        await scene.alice.say(scene.room, "!help")
        await scene.answer("commands:")
    finally:
        await bot.stop()


async def test_a_command_that_waited_is_timed_when_it_was_said(scene: Scene) -> None:
    """The bot is down when `!ack` is said: its event carries the homeserver's
    origin_server_ts, not the time the restarted bot read it, so TTA is what people saw.
    The restarted bot's clock runs ten minutes ahead, as if it had been down that long: how
    fast it restarts does not matter."""

    async def bot(clock: SystemClock) -> MatrixBot:
        return await start_bot(
            scene.tmp / "timed.sqlite3",
            clock,
            scene.network(),
            scene.bot_id,
            scene.password,
            admins=[scene.alice.user_id],
        )

    running = await bot(SystemClock())
    await scene.alice.say(scene.room, "!break web down")
    await scene.answer("#1 opened")
    await running.stop()
    event_id = await scene.alice.say(scene.room, "!ack 1")
    got = await scene.alice.client.room_get_event(scene.room, event_id)
    said = datetime.fromtimestamp(got.event.server_timestamp / 1000, UTC)

    later = _TenMinutesAhead()
    running = await bot(later)
    try:
        await scene.answer("#1 acknowledged by")
        store = running.app.store
        acked = await store.read(
            lambda c: c.scalar(select(IncidentEvent.at).where(IncidentEvent.kind == "acked"))
        )
        assert acked == said
        assert later.now() - said > timedelta(minutes=9)  # read well after it was said
    finally:
        await running.stop()


class _TenMinutesAhead(SystemClock):
    def now(self) -> datetime:
        return super().now() + timedelta(minutes=10)
