"""The `reminders:` config section: when to nag, per severity, and where to post."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from bot.config import PluginSettings, RoomsByNetwork, StrictModel
from plugins.common.chat import Rooms
from plugins.reminders.rules import Intervals, Policy


class BySeverity(StrictModel):
    """Minutes, per severity (sev1 is the worst)."""

    sev1: int = Field(ge=1, le=10080)
    sev2: int = Field(ge=1, le=10080)
    sev3: int = Field(ge=1, le=10080)
    sev4: int = Field(ge=1, le=10080)

    def intervals(self) -> Intervals:
        minutes = {1: self.sev1, 2: self.sev2, 3: self.sev3, 4: self.sev4}
        return Intervals({sev: timedelta(minutes=m) for sev, m in minutes.items()})


class ReminderSettings(PluginSettings):
    enabled: bool = False
    check_every: int = Field(1, ge=1, le=60)
    unowned_after: BySeverity = BySeverity(sev1=5, sev2=10, sev3=20, sev4=60)
    idle_after: BySeverity = BySeverity(sev1=15, sev2=30, sev3=45, sev4=120)
    stale_after: BySeverity = BySeverity(sev1=20, sev2=30, sev3=60, sev4=180)
    nobody_on_duty_every: int = Field(30, ge=1, le=1440)
    service_teams: dict[str, str] = Field(default_factory=dict)
    rooms: Rooms = Field(default_factory=dict)
    summary_every: int = Field(0, ge=0, le=1440)
    summary_rooms: Rooms = Field(default_factory=dict)

    def rooms_named(self) -> dict[str, RoomsByNetwork]:
        return {"rooms": self.rooms, "summary_rooms": self.summary_rooms}

    def teams_named(self) -> dict[str, Iterable[str]]:
        return {"service_teams": self.service_teams.values()}

    def policy(self) -> Policy:
        return Policy(
            self.unowned_after.intervals(),
            self.idle_after.intervals(),
            self.stale_after.intervals(),
            timedelta(minutes=self.nobody_on_duty_every),
        )
