"""What every config model shares: unknown keys are errors, and secrets are named by
environment variable, never written in the file."""

from __future__ import annotations

import re
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
