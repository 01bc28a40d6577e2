"""Incidents: report a breakage, triage, own, annotate, fix, reopen, list and show. Every
change goes through the state machine (`lifecycle`) and appends an event to the log."""

from plugins.incidents.commands import IncidentsPlugin as plugin

__all__ = ["plugin"]
