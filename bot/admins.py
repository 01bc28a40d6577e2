"""Who the config's `admins` are, matched identity by identity: an entry names one
network (or is a Matrix user ID), is compared by that network's casemapping, and counts
only where the network vouches for the name: a services account, a Matrix user ID, or a
nick on a network whose config says `identify_by: nick`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from bot.config import Config
from bot.config.admins import AdminEntry, parse_admin
from bot.messages import IdentifiedBy
from bot.transports.base import Transport

log = logging.getLogger(__name__)


class Admins:
    def __init__(self, entries: Iterable[str]) -> None:
        self.entries = tuple(parse_admin(e) for e in entries)

    def match(
        self, network: str, key: str, mode: IdentifiedBy | None, fold: Callable[[str], str]
    ) -> bool:
        """Whether the identity `key` (folded the network's way) on `network` is listed."""
        if mode is IdentifiedBy.USER_ID:
            return any(e.network is None and e.name == key for e in self.entries)
        if mode in (IdentifiedBy.ACCOUNT, IdentifiedBy.NICK) and not key.startswith("~"):
            return any(fold(e.name) == key for e in self.on(network))
        return False  # a nick nobody declared trustworthy, the console, an unknown network

    def on(self, network: str) -> list[AdminEntry]:
        """The entries naming `network` (Matrix user IDs name no network)."""
        return [e for e in self.entries if e.network == network]

    def matrix_ids(self) -> list[str]:
        return [e.name for e in self.entries if e.network is None]


_IRC_IDENTIFY = {
    "account": "services account (identify_by: account)",
    "nick": "nick (identify_by: nick), which anyone can take",
    "auto": "services account where the server tracks accounts, else nick "
    "(identify_by: auto; what the server offers is logged on connecting)",
}


def log_identification(admins: Admins, transports: Mapping[str, Transport], config: Config) -> None:
    """How each network identifies people and who its admins are; a warning where
    admin rights rest on nicks, which anyone can take."""
    for name, transport in transports.items():
        if transport.trusted:
            continue  # the console: its operator owns the database anyway
        mode = transport.identified_by
        if mode is IdentifiedBy.USER_ID:
            listed = admins.matrix_ids()
        else:
            listed = [f"{e.name}@{name}" for e in admins.on(name)]
        configured = config.networks.get(name)
        how = mode.value
        if configured is not None and configured.kind == "irc":
            how = _IRC_IDENTIFY[configured.identify_by]
        log.info(
            "%s: people are identified by %s; admins: %s", name, how, ", ".join(listed) or "none"
        )
        if mode is IdentifiedBy.NICK and listed:
            log.warning(
                "%s: admin rights rest on nicks (%s): anyone who takes one of these nicks "
                "is an admin here",
                name,
                ", ".join(listed),
            )
