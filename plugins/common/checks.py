"""The one copy of the name rules the features share: services and consumers,
environments, teams, deploy names, versions and who deployed, HH:MM times and mail
addresses.

Two readers use them. Chat commands take what people type (any case, stored lowercase)
and refuse with a UserError line that says what a good name looks like; config validators
take the file's values as written and refuse with a ValueError, which the config reports
under the key's path."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.commands import UserError
from bot.text import clean

SERVICE = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,63}$")  # consumers are named like services
ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
TEAM = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")  # HH:MM, 24 hours
MAIL_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+$")
VERSION = re.compile(r"^[\w.+:~/@-]{1,128}$")  # 2.3.1, v2.3.1-rc1+build.5, a commit hash
WHO_CHARS = 64


def check_service(name: str, what: str = "service") -> str:
    """A service name as typed in chat, lowercase. Deploys, plans and consumers are named
    the same way: no spaces or control characters, at most 64 characters."""
    lowered = name.lower()
    if not SERVICE.match(lowered):
        raise UserError(
            f"a {what} name is up to 64 letters, digits, '.', '-', '_' or '/', "
            f"starting with a letter or digit; got {clean(name)[:40]!r}"
        )
    return lowered


def check_consumer(name: str) -> str:
    """Who was hit: a service, script or team, named like a service (lowercase)."""
    return check_service(name, "consumer")


def check_environment(name: str) -> str:
    """A short token such as production, staging or stg-eu1 (lowercase)."""
    environment = name.lower()
    if not ENVIRONMENT.match(environment):
        raise UserError(
            "an environment is up to 32 letters, digits, '.', '-' or '_', starting with a "
            f"letter or digit (production, staging); got {name[:40]!r}"
        )
    return environment


def check_team(name: str, teams: Sequence[str]) -> str:
    """One of the configured `teams:` (lowercase)."""
    team = name.lower()
    if team not in teams:
        raise UserError(f"unknown team {team[:32]!r}; teams are {', '.join(teams)}")
    return team


def check_deploy_name(name: str) -> str:
    """A deploy's name (lowercase); the same for a plan, which the deploy picks up by it."""
    return check_service(name, "deploy")


def check_version(value: str) -> str:
    value = value.strip()
    if not VERSION.match(value):
        raise UserError(
            "a version is up to 128 letters, digits or . + : ~ / @ - _ (like 2.3.1 or a "
            f"commit hash); got {value[:40]!r}"
        )
    return value


def check_who(value: str) -> str:
    """Who deployed, as the pipeline names them: a person or a job, shown as given."""
    value = " ".join(clean(value).split())
    if not value or len(value) > WHO_CHARS:
        raise UserError(f"say who deployed in 1 to {WHO_CHARS} characters")
    return value


def config_name(value: str, what: str) -> str:
    """A service or consumer named in the config."""
    if not SERVICE.match(value):
        raise ValueError(
            f"expected lowercase {what} names like pkgdb or koji-scripts, got {value!r}"
        )
    return value


def config_team(value: str) -> str:
    if not TEAM.match(value):
        raise ValueError(f"expected lowercase team names like 'releng', got {value!r}")
    return value


def config_environment(value: str) -> str:
    if not ENVIRONMENT.match(value):
        raise ValueError(f"expected lowercase environment names like stg, got {value!r}")
    return value


def config_clock(value: object) -> object:
    """A local time of day; YAML reads an unquoted 18:00 as a number, so say to quote it."""
    if value is not None and (not isinstance(value, str) or not CLOCK.match(value)):
        raise ValueError(
            f'expected a quoted local time like "18:00", got {value!r} '
            "(unquoted, YAML reads 18:00 as a number)"
        )
    return value


def config_addresses(addresses: tuple[str, ...]) -> tuple[str, ...]:
    for address in addresses:
        if not MAIL_ADDRESS.match(address):
            raise ValueError(f"expected mail addresses like ops@example.org, got {address!r}")
    return addresses
