"""Export: the incident log with every event as CSV, JSON, JSON Lines or Markdown."""

from plugins.export.commands import ExportPlugin as plugin

__all__ = ["plugin"]
