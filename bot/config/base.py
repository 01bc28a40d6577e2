"""What every config model shares: unknown keys are errors, and secrets are named by
environment variable, never written in the file."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(Exception):
    """One or more problems, each a one-line message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StrictModel(BaseModel):
    """Unknown keys are errors (typos must not pass silently); values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


S = TypeVar("S", bound=BaseModel)


def env_name(value: str | None) -> str | None:
    if value is not None and not _ENV.match(value):
        raise ValueError(
            f"expected an environment variable name like DEPLOYDAY_PASSWORD, got {value!r}"
        )
    return value


RoomsByNetwork = Mapping[str, Sequence[str]]


class PluginSettings(StrictModel):
    """A plugin's config section. What it names elsewhere in the config (rooms, teams, the
    mail server) it declares here, so the core checks it (`check-config`, `run`, a reload)
    without knowing the plugin's keys."""

    def rooms_named(self) -> dict[str, RoomsByNetwork]:
        """Rooms by key in this section, e.g. {"rooms": {"libera": ["#noc"]}}: each must
        be a configured room of an existing network."""
        return {}

    def teams_named(self) -> dict[str, Iterable[str]]:
        """Teams by key in this section: each should be one of `teams:`."""
        return {}

    def mail_needed(self) -> tuple[str, ...]:
        """Keys of this section that are set and mail something: they need `mail:`."""
        return ()
