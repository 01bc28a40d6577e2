"""The `export:` config section."""

from __future__ import annotations

from bot.config import StrictModel


class ExportSettings(StrictModel):
    directory: str | None = None  # default: see common.files.data_directory
    url_base: str | None = None  # where `directory` is served: chat gets links, not paths
