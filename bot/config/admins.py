"""Admins are named per network: `alice@libera` (the services account alice on libera,
or the nick alice where libera says `identify_by: nick`) or a Matrix user ID, which
carries its server. A bare name would make whoever holds that nick an admin on every
network, so it is refused."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

MATRIX_USER = re.compile(r"^@[a-z0-9._=/+-]+:[A-Za-z0-9.:\[\]-]+$")
_NAME = re.compile(r"^[^\s@~][^\s@]{0,63}$")


@dataclass(frozen=True, slots=True)
class AdminEntry:
    """One `admins` entry: `name` on `network`, or (network None) a Matrix user ID."""

    name: str
    network: str | None


def parse_admin(entry: str) -> AdminEntry:
    """ValueError says what is wrong with an entry and how to write it."""
    if entry.startswith("@"):
        if not MATRIX_USER.match(entry):
            raise ValueError(f"expected a Matrix user ID like @alice:example.org, got {entry!r}")
        return AdminEntry(entry, None)
    name, at, network = entry.rpartition("@")
    if not at:
        raise ValueError(
            f"an admin must be named with their network: write {entry}@NETWORK (a services "
            "account there, or a nick where that network says identify_by: nick) or a "
            f"Matrix user ID like @{entry.lower()}:example.org; got {entry!r}"
        )
    if not _NAME.match(name) or not network:
        raise ValueError(
            f"expected an account or nick and a network like alice@libera, got {entry!r}"
        )
    return AdminEntry(name, network)


def check_admin(entry: str) -> str:
    parse_admin(entry)
    return entry


def admin_problems(admins: Sequence[str], networks: Mapping[str, BaseModel]) -> list[str]:
    """Entries naming a network the config does not have, or naming someone on a Matrix
    network by anything but their user ID. Checked only when networks are configured."""
    if not networks:
        return []
    problems = []
    for i, entry in enumerate(admins):
        admin = parse_admin(entry)
        if admin.network is None:
            continue
        network = networks.get(admin.network)
        if network is None:
            problems.append(
                f"admins[{i}]: {entry!r} names no configured network "
                f"(networks: {', '.join(networks)})"
            )
        elif getattr(network, "kind", None) == "matrix":
            problems.append(
                f"admins[{i}]: {admin.network} is a Matrix network; name the admin there by "
                f"user ID, like @{admin.name.lower()}:example.org"
            )
    return problems
