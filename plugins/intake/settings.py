"""The `intake:` config section: where the HTTP intake listens, the token callers present,
how big a request may be, and how Alertmanager's alerts become incidents."""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import Field, field_validator

from bot.config import StrictModel
from bot.config.base import env_name

_LISTEN = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a Prometheus label name


class IntakeSettings(StrictModel):
    listen: str = "127.0.0.1:9095"  # host:port; port 0 picks a free one
    token_env: str = "DEPLOYDAY_INTAKE_TOKEN"
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576)
    service_label: str = "service"
    severity_label: str = "severity"
    severity_map: dict[str, int] = Field(
        default_factory=lambda: {"critical": 1, "error": 2, "warning": 3, "info": 4}
    )
    outside_deploy: Literal["open", "announce", "ignore"] = "open"
    resolve: Literal["fix", "note"] = "fix"
    announce_limit: int = Field(5, ge=1, le=100)
    announce_deployments: bool = True

    _check_env = field_validator("token_env")(env_name)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        found = _LISTEN.match(v)
        if found is None or int(found["port"]) > 65535:
            raise ValueError(f"expected host:port like 127.0.0.1:9095, got {v!r}")
        return v

    @field_validator("service_label", "severity_label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not _LABEL.match(v):
            raise ValueError(f"expected a Prometheus label name like service, got {v!r}")
        return v

    @field_validator("severity_map")
    @classmethod
    def _severities(cls, v: dict[str, int]) -> dict[str, int]:
        for value, severity in v.items():
            if not 1 <= severity <= 4:
                raise ValueError(
                    f"{value}: expected a severity from 1 (worst) to 4, got {severity}"
                )
        return v

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None

    def missing_secrets(self) -> list[str]:
        """The token is required: an intake anyone on the host could post to is refused."""
        if self.token is None:
            return [
                f"token_env: environment variable {self.token_env} is not set (or empty); "
                "export a long random token before starting the bot"
            ]
        return []
