"""The whole bot in the test process on a real IRC server, with one network `net` in one
channel, the way `deployday run` builds it (the IRC counterpart of `matrix_bot`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import App
from bot.clock import Clock
from bot.loading import build_config
from bot.transports.irc import IrcTransport
from tests.servers.ircd import IrcServer


def irc_app(
    server: IrcServer,
    database: Path,
    nick: str,
    channel: str,
    clock: Clock,
    *,
    network: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[App, IrcTransport]:
    """Not started yet; `network` adds keys to the network's section, `config` top-level."""
    settings = {
        "kind": "irc",
        "host": server.host,
        "port": server.port,
        "tls": False,
        "nick": nick,
        "channels": [channel],
        **(network or {}),
    }
    cfg = build_config(
        {"database": f"sqlite:///{database}", "networks": {"net": settings}, **config}
    )
    transport = IrcTransport("net", cfg.networks["net"], clock=clock, tz=cfg.tz)
    return App(cfg, [transport], clock=clock), transport
