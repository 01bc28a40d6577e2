"""Network transports: each turns its network's events into `Message`s and renders `Reply`s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Config
from bot.transports.base import Transport

if TYPE_CHECKING:
    from bot.store import Store


def build_transports(config: Config, clock: Clock, store: Store | None = None) -> list[Transport]:
    """One transport per configured network, imported only when configured. Transports
    that keep state (Matrix: sync token, session) use `store`, the app's database; without
    one they open their own connection to it."""
    transports: list[Transport] = []
    for name, net in config.networks.items():
        if net.kind == "irc":
            from bot.transports.irc import IrcTransport

            transports.append(
                IrcTransport(name, net, clock=clock, tz=config.tz, prefix=config.prefix)
            )
        elif net.kind == "matrix":
            from bot.state import State
            from bot.store import Store
            from bot.transports.matrix import MatrixTransport, check_encryption

            check_encryption(name, net)
            own = store is None
            state = State(store or Store(config.database_url, modes=config.modes), clock)
            transports.append(
                MatrixTransport(
                    name,
                    net,
                    clock=clock,
                    tz=config.tz,
                    state=state,
                    base_dir=config.base_dir,
                    owns_store=own,
                    admins=frozenset(a for a in config.admins if a.startswith("@")),
                    modes=config.modes,
                )
            )
    return transports
