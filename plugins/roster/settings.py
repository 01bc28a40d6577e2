"""The `roster:` config section."""

from __future__ import annotations

from bot.config import StrictModel


class RosterSettings(StrictModel):
    self_checkin: bool = False  # anyone may check in to any team, joining its roster
