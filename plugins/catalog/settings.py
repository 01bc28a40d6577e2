"""The `catalog:` config section: the services, their consumers and environments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.config import PluginSettings, StrictModel
from plugins.common.checks import config_environment, config_name, config_team


class CatalogEntry(StrictModel):
    """One service. Essential is the default: only services declared leaf get the lighter
    routine, so forgetting to classify one never silences its consumers' pages."""

    criticality: Literal["essential", "leaf"] = "essential"
    team: str | None = None
    consumers: dict[str, str] = Field(default_factory=dict)  # consumer -> team paged for it

    @field_validator("team")
    @classmethod
    def _owner(cls, v: str | None) -> str | None:
        return None if v is None else config_team(v)

    @field_validator("consumers")
    @classmethod
    def _consumers(cls, v: dict[str, str]) -> dict[str, str]:
        for consumer, team in v.items():
            config_name(consumer, "consumer")
            config_team(team)
        return v


class CatalogSettings(PluginSettings):
    services: dict[str, CatalogEntry] = Field(default_factory=dict)
    leaf_routine: Literal["page", "list", "skip"] = "list"
    production_environments: tuple[str, ...] = ("production", "prod")
    staging_environments: tuple[str, ...] = ("staging", "stg", "stage")

    @field_validator("services")
    @classmethod
    def _services(cls, v: dict[str, CatalogEntry]) -> dict[str, CatalogEntry]:
        for service in v:
            config_name(service, "service")
        return v

    @field_validator("production_environments", "staging_environments")
    @classmethod
    def _environments(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for env in v:
            config_environment(env)
        return v

    def teams_named(self) -> dict[str, Iterable[str]]:
        owners = [e.team for e in self.services.values() if e.team]
        consumers = [t for e in self.services.values() for t in e.consumers.values()]
        return {"services": [*owners, *consumers]}

    @model_validator(mode="after")
    def _apart(self) -> CatalogSettings:
        both = set(self.production_environments) & set(self.staging_environments)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} cannot be production and staging at once")
        return self
