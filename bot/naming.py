"""What a name typed in a command means. The one place that reads `bob` (someone on the
network where it was typed), `bob@libera` (the stable id `bob` on libera: a services
account, or a nick where the network is identified by nick) and `@bob:example.org` (a
Matrix user ID), and that writes identities back in the same qualified form."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.commands import UserError
from bot.messages import IdentifiedBy

MAX_NAME = 255  # a Matrix user ID may be this long; nothing longer names anyone
_MATRIX_ID = re.compile(r"^@[^\s:@]+:[^\s@]+$")


class Networks(Protocol):
    """What reading a name needs to know of the networks: which exist, how each
    identifies people, and how each compares names."""

    def network_names(self) -> tuple[str, ...]: ...

    def identified_by(self, network: str) -> IdentifiedBy | None: ...

    def fold(self, network: str, name: str) -> str: ...

    def current_id(self, network: str, nick: str) -> str | None:
        """The stable id of whoever uses `nick` on `network` now, if the network says."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """A typed name, read: the network it is on, its stable id there (`key`, folded the
    network's way) and, unless `stable`, the current nick or display name it may also be
    (`nick_key`)."""

    network: str
    name: str
    key: str
    nick_key: str
    mode: IdentifiedBy
    stable: bool


def nick_key(mode: IdentifiedBy | None, fold: Callable[[str], str], nick: str) -> str:
    """How nicks are compared: the IRC server's casemapping; display names on Matrix
    case-insensitively (they are only ever a convenience there)."""
    folded = nick.casefold() if mode is IdentifiedBy.USER_ID else fold(nick)
    return folded[:MAX_NAME]  # folding may lengthen it (ß is ss); it must fit its column


def read_name(typed: str, here: str, networks: Networks) -> Wanted:
    """Read `typed` as said on the network `here`; UserError says what is wrong with it."""
    name = typed.strip()
    if len(name) > MAX_NAME:
        raise UserError(f"a name or ID is at most {MAX_NAME} characters; got {len(name):,}")
    if not name or not all(c.isprintable() and c != " " for c in name):
        raise UserError(f"{_short(name)!r} is not a name I can look up")
    if name.startswith("@") and ":" in name:
        return _matrix_id(name, here, networks)
    head, at, tail = name.rpartition("@")
    if at and head:
        return _qualified(head, _known(tail, networks), networks)
    name = name.removeprefix("@")  # "@bob", as people write on other chat systems
    mode = _mode(here, networks)
    if mode is IdentifiedBy.ACCOUNT:
        _not_logged_out(name, here)
    fold = _folder(here, networks)
    stable = mode is IdentifiedBy.OPERATOR  # only the operator is on the console
    return Wanted(here, name, fold(name), nick_key(mode, fold, name), mode, stable)


def qualified(network: str, key: str, networks: Networks) -> str:
    """An identity as people can type it back: `key@network`, or the bare Matrix user ID
    where only one Matrix network could be meant."""
    if networks.identified_by(network) is IdentifiedBy.USER_ID and _matrix_networks(networks) == [
        network
    ]:
        return key
    return f"{key}@{network}"


def _qualified(name: str, network: str, networks: Networks) -> Wanted:
    mode = _mode(network, networks)
    if mode is IdentifiedBy.USER_ID:
        raise UserError(
            f"people on {network} are named by Matrix user ID (@user:server), not {_short(name)}"
        )
    if mode is IdentifiedBy.ACCOUNT:
        _not_logged_out(name, network)
    key = networks.fold(network, name)
    return Wanted(network, name, key, key, mode, stable=True)


def _matrix_id(name: str, here: str, networks: Networks) -> Wanted:
    user_id, at, network = name.rpartition("@")
    if not (at and user_id):
        user_id, network = name, ""
    if not _MATRIX_ID.match(user_id):
        raise UserError(f"{_short(user_id)!r} is not a Matrix user ID (@user:server)")
    if network:
        network = _known(network, networks)
        if networks.identified_by(network) is not IdentifiedBy.USER_ID:
            raise UserError(f"{network} is not a Matrix network; {_short(user_id)} cannot be on it")
    else:
        network = _matrix_network(user_id, here, networks)
    return Wanted(network, user_id, user_id, user_id.casefold(), IdentifiedBy.USER_ID, True)


def _matrix_network(user_id: str, here: str, networks: Networks) -> str:
    candidates = _matrix_networks(networks)
    if here in candidates:
        return here
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UserError(f"no Matrix network is configured here, so I cannot look up {user_id}")
    raise UserError(
        f"{user_id} could be on any of {', '.join(candidates)}; "
        f"write {user_id}@{candidates[0]} (or another of them)"
    )


def _matrix_networks(networks: Networks) -> list[str]:
    return [
        n for n in networks.network_names() if networks.identified_by(n) is IdentifiedBy.USER_ID
    ]


def _known(network: str, networks: Networks) -> str:
    names = networks.network_names()
    found = next((n for n in names if n.casefold() == network.casefold()), None)
    if found is None:
        raise UserError(
            f"there is no network {_short(network)} here (networks: {', '.join(names)})"
        )
    return found


def _mode(network: str, networks: Networks) -> IdentifiedBy:
    mode = networks.identified_by(network)
    if mode is None:
        raise UserError(f"there is no network {_short(network)} here")
    return mode


def _folder(network: str, networks: Networks) -> Callable[[str], str]:
    return lambda name: networks.fold(network, name)


def _not_logged_out(name: str, network: str) -> None:
    if name.startswith("~"):
        raise UserError(
            f"{_short(name)} is someone not logged in to services on {network}, whom anyone "
            "can be; name their services account instead"
        )


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"
