"""The `metrics:` config section: how long after a change an incident of its service
counts as that change failing."""

from __future__ import annotations

from datetime import timedelta

from pydantic import field_validator

from bot.config import Config, PluginSettings
from plugins.common.when import span

DEFAULT_WINDOW = "24h"


class MetricsSettings(PluginSettings):
    failure_window: str = DEFAULT_WINDOW

    @field_validator("failure_window")
    @classmethod
    def _span(cls, v: str) -> str:
        delta = span(v)
        if delta is None or delta <= timedelta(0):
            raise ValueError(f"expected a length of time like 24h, 2d or 1d12h, got {v!r}")
        return v

    @property
    def window(self) -> timedelta:
        return span(self.failure_window) or timedelta(hours=24)


def failure_window(config: Config) -> timedelta:
    """The configured window, for features that report change failures (digest, export)."""
    return config.section("metrics", MetricsSettings).window
