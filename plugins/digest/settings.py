"""The `digest:` config section: where the digest goes, when, and to whom by mail."""

from __future__ import annotations

from datetime import time

from pydantic import Field, field_validator

from bot.config import PluginSettings, RoomsByNetwork
from plugins.common.chat import Rooms
from plugins.common.checks import config_addresses, config_clock
from plugins.common.when import clock


class DigestSettings(PluginSettings):
    directory: str | None = None
    on_deploy_end: bool = True
    end_of_day: str | None = None
    rooms: Rooms = Field(default_factory=dict)
    mail_to: tuple[str, ...] = ()
    url_base: str | None = None  # where `directory` is served: chat gets links, not paths
    keep_versions: int = Field(default=0, ge=0, le=1000)  # replaced digests kept, numbered

    @field_validator("end_of_day", mode="before")
    @classmethod
    def _hhmm(cls, v: object) -> object:
        return config_clock(v)

    @field_validator("mail_to")
    @classmethod
    def _addresses(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return config_addresses(v)

    def rooms_named(self) -> dict[str, RoomsByNetwork]:
        return {"rooms": self.rooms}

    def mail_needed(self) -> tuple[str, ...]:
        return ("mail_to",) if self.mail_to else ()

    @property
    def end_of_day_time(self) -> time | None:
        return None if self.end_of_day is None else clock(self.end_of_day)
