"""Network transports: each turns its network's events into `Message`s and renders `Reply`s."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Config
from bot.transports.base import Transport


def build_transports(config: Config, clock: Clock) -> list[Transport]:
    """One transport per configured network, imported only when configured."""
    transports: list[Transport] = []
    for name, net in config.networks.items():
        if net.kind == "irc":
            from bot.transports.irc import IrcTransport

            transports.append(IrcTransport(name, net, clock=clock, tz=config.tz))
    return transports
