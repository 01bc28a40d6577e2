"""The `export:` config section."""

from __future__ import annotations

from bot.config import StrictModel


class ExportSettings(StrictModel):
    directory: str | None = None  # default: see common.files.data_directory
