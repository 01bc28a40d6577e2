"""Reminders: nag about unowned, idle and stale incidents while a deploy is under way,
and post MTTR summaries on a schedule. No chat commands: scheduled jobs only."""

from plugins.reminders.jobs import RemindersPlugin as plugin

__all__ = ["plugin"]
