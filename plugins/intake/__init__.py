"""Intake: the deploy pipeline plugged in. An HTTP server takes Alertmanager's alerts (they
open and fix incidents) and the pipeline's deploys and deployments, and serves health and
Prometheus metrics; `deployday deploy` does the same from a command line."""

from plugins.intake.commands import IntakePlugin as plugin

__all__ = ["plugin"]
