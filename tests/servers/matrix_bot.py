"""Putting the whole bot on the session's Synapse (and, for mixed tests, an IRC server) with
one database, the way `deployday run` builds it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.clock import Clock
from bot.loading import build_config
from bot.store import Store
from bot.transports import build_transports
from bot.transports.irc import IrcTransport
from bot.transports.matrix import MatrixTransport
from tests.servers.synapse import Homeserver, MatrixUser

WAIT = 20.0  # generous: a loaded CI machine must not fail a test by being slow


@dataclass
class MatrixBot:
    app: App
    user_id: str
    password: str

    @property
    def matrix(self) -> MatrixTransport:
        found = next(t for t in self.app.transports.values() if isinstance(t, MatrixTransport))
        return found

    @property
    def irc(self) -> IrcTransport:
        found = next(t for t in self.app.transports.values() if isinstance(t, IrcTransport))
        return found

    async def ready(self) -> None:
        async with asyncio.timeout(WAIT):
            for transport in self.app.transports.values():
                await transport.wait_ready()  # type: ignore[attr-defined]

    async def stop(self) -> None:
        await self.app.stop()


async def bot_account(homeserver: Homeserver, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A fresh bot account whose password is in the environment, as in production."""
    localpart = homeserver.unique("deployday")
    password = f"pw-{localpart}"
    user_id = await homeserver.register(localpart, password)
    monkeypatch.setenv("DD_TEST_MATRIX_PASSWORD", password)
    return user_id, password


async def room_with(
    homeserver: Homeserver, owner: MatrixUser, bot_id: str, *people: MatrixUser
) -> tuple[str, str]:
    """A room `owner` makes with an alias, the bot and `people` invited and `people` in it:
    (its room ID, the alias to configure)."""
    alias = homeserver.unique("room")
    room = await owner.create_room(alias=alias, invite=(bot_id, *(p.user_id for p in people)))
    for person in people:
        await person.wait_invite(room)
        await person.join(room)
    return room, f"#{alias}:localhost"


def matrix_network(homeserver: Homeserver, user_id: str, rooms: list[str], **extra: Any) -> dict:
    return {
        "kind": "matrix",
        "homeserver": homeserver.url,
        "user_id": user_id,
        "password_env": "DD_TEST_MATRIX_PASSWORD",
        "rooms": rooms,
        "reconnect": {"min_delay": 0.05, "max_delay": 0.5},
        **extra,
    }


async def start_bot(
    database: Path,
    clock: Clock,
    networks: dict[str, dict],
    user_id: str,
    password: str,
    **config: Any,
) -> MatrixBot:
    cfg = build_config({"database": f"sqlite:///{database}", "networks": networks, **config})
    store = Store(cfg.database_url)
    app = App(cfg, build_transports(cfg, clock, store), clock=clock, store=store)
    await app.start()
    bot = MatrixBot(app, user_id, password)
    try:
        await bot.ready()
    except BaseException:
        await app.stop()
        raise
    return bot
