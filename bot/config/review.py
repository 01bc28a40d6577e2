"""What a config means beyond each key's own validity, checked without connecting
anywhere: rooms named in plugin sections are rooms the bot joins, the database can be
opened, secrets are exported, features that mail have a mail server, someone is an admin,
and how people are identified. `check-config`, `run` and a reload all use this one list,
so check-config finds exactly what run would refuse or warn about."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Config, PluginSettings, RoomsByNetwork
from bot.config.networks import IrcNetworkConfig, MatrixNetworkConfig

IRC_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~", "abcdefghijklmnopqrstuvwxyz{}|^")


@dataclass(slots=True)
class Review:
    errors: list[str] = field(default_factory=list)  # run refuses to start
    warnings: list[str] = field(default_factory=list)  # run starts, and says this once


def review(config: Config) -> Review:
    result = Review(errors=[*config.missing_secrets(), *sqlite_problems(config)])
    for key, section in config.sections.items():
        if not isinstance(section, PluginSettings):
            continue
        for name, rooms in section.rooms_named().items():
            result.errors += room_problems(config, f"{key}.{name}", rooms)
        for name, teams in section.teams_named().items():
            result.warnings += team_problems(config, f"{key}.{name}", teams)
        if config.mail is None:
            result.warnings += [
                f"{key}.{name} is set but there is no `mail:` section: nothing will be "
                "mailed; add `mail:` (see config.example.yaml) or remove this key"
                for name in section.mail_needed()
            ]
    result.warnings += admin_problems(config) + identity_notes(config)
    return result


def sqlite_problems(config: Config) -> list[str]:
    """The SQLite file's directory must exist and be writable (SQLite writes its journal
    beside the file), and an existing file must be writable."""
    url = make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    path = Path(url.database)
    if not path.parent.is_dir():
        return [
            f"database: directory {path.parent} does not exist; create it or point "
            "`database:` elsewhere"
        ]
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return [
            f"database: directory {path.parent} is not writable by this user; SQLite "
            "needs to write its journal there"
        ]
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return [f"database: {path} is not readable and writable by this user"]
    return []


def room_problems(config: Config, key: str, rooms: RoomsByNetwork) -> list[str]:
    problems = []
    for network, names in rooms.items():
        net = config.networks.get(network)
        if net is None:
            known = list(config.networks)
            close = difflib.get_close_matches(network, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                f"{key}.{network}: no network named '{network}'; {hint}"
                f"networks: {', '.join(known) or 'none'}"
            )
            continue
        joined = net.channels if isinstance(net, IrcNetworkConfig) else net.rooms
        fold = _fold(net)
        missing = [r for r in names if fold(r) not in {fold(j) for j in joined}]
        if missing:
            listed = "channels" if isinstance(net, IrcNetworkConfig) else "rooms"
            problems.append(
                f"{key}.{network}: {', '.join(missing)} not in networks.{network}.{listed} "
                f"({', '.join(joined)}); the bot posts only where it joined, so add "
                f"{'it' if len(missing) == 1 else 'them'} there or name one of those"
            )
    return problems


def _fold(net: IrcNetworkConfig | MatrixNetworkConfig) -> Callable[[str], str]:
    """IRC channel names compare case-insensitively (rfc1459); Matrix rooms exactly."""
    if isinstance(net, IrcNetworkConfig):
        return lambda name: name.translate(IRC_FOLD)
    return lambda name: name


def team_problems(config: Config, key: str, teams: Iterable[str]) -> list[str]:
    unknown = sorted(set(teams) - set(config.teams))
    if not unknown:
        return []
    return [
        f"{key} names teams not in `teams:` ({', '.join(unknown)}); nobody can check in "
        "for them, so their pages reach no one on duty"
    ]


def admin_problems(config: Config) -> list[str]:
    if config.admins:
        return []
    if any(
        isinstance(n, MatrixNetworkConfig) and n.admin_power_level for n in config.networks.values()
    ):
        return []
    return [
        "admins is empty: nobody can start a deploy or manage the roster; list your IRC "
        'account (or nick) and Matrix ID, e.g. admins: [alice, "@alice:example.org"]'
    ]


def identity_notes(config: Config) -> list[str]:
    notes = []
    for name, net in config.networks.items():
        if not isinstance(net, IrcNetworkConfig) or net.identify_by == "account":
            continue
        if net.identify_by == "nick":
            how = "people are identified by nick"
        else:
            how = (
                "people are identified by services account if the server tracks accounts, "
                "else by nick (check-config --connect says which)"
            )
        notes.append(
            f"networks.{name}.identify_by: {net.identify_by}: {how}; anyone can take a "
            'free nick, admins\' included (README, "Identity")'
        )
    return notes
