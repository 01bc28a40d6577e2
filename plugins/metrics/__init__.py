"""Metrics: time to acknowledge and time to repair (`stats` defines them), from the event
log, for a deploy, a day or a service."""

from plugins.metrics.commands import MetricsPlugin as plugin

__all__ = ["plugin"]
