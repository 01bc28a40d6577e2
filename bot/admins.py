"""Who the config's `admins` are, matched identity by identity: an entry names one
network (or is a Matrix user ID), is compared by that network's casemapping, and counts
only where the network vouches for the name: a services account, a Matrix user ID, or a
nick on a network whose config says `identify_by: nick`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.config.admins import AdminEntry, parse_admin
from bot.messages import IdentifiedBy


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
