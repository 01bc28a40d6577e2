"""The `incidents:` config section: how long reports and notes may be, and lists."""

from __future__ import annotations

from pydantic import Field

from bot.config import StrictModel


class IncidentSettings(StrictModel):
    max_summary_chars: int = Field(300, ge=20, le=4000)
    max_note_chars: int = Field(1000, ge=20, le=4000)
    default_severity: int = Field(3, ge=1, le=4)
    list_limit: int = Field(15, ge=1, le=500)
