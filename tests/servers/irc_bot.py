"""The whole bot on one real IRC server, built as `deployday run` builds it but on a fake
clock, for tests that talk to it through real IRC clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import App
from bot.clock import Clock, FakeClock
from bot.loading import build_config
from bot.transports.irc import IrcTransport
from tests.servers.ircd import IrcServer, irc_network

WAIT = 15.0


@asynccontextmanager
async def irc_bot(
    server: IrcServer,
    database: Path,
    nick: str,
    channel: str,
    *,
    clock: Clock | None = None,
    identify_by: str = "auto",
    network: dict[str, object] | None = None,
    **config: object,
) -> AsyncIterator[tuple[App, IrcTransport]]:
    """Started and in `channel` on return; `network` adds or replaces keys of the
    network's section (`flood: {}` for the shipped limits), `config` top-level ones."""
    cfg = build_config(
        {
            "database": f"sqlite:///{database}",
            "networks": {
                "net": irc_network(
                    server,
                    nick,
                    channel,
                    **{
                        "identify_by": identify_by,
                        "flood": {"burst": 50, "per_second": 50},
                        **(network or {}),
                    },
                )
            },
            **config,
        }
    )
    clock = clock or FakeClock()
    transport = IrcTransport("net", cfg.networks["net"], clock=clock, tz=cfg.tz)
    app = App(cfg, [transport], clock=clock)
    await app.start()
    try:
        async with asyncio.timeout(WAIT):
            await transport.wait_ready()
        yield app, transport
    finally:
        await app.stop()
