"""How incidents read in chat and in digests: one-liners, status, timeline events."""

from __future__ import annotations

from datetime import datetime

from bot.messages import Inline, Reply, Span, bold, text
from plugins.common.chat import duration
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.records import EventView, IncidentView


def status_label(status: Status, owner: str | None) -> str:
    if status is Status.ACKNOWLEDGED and owner:
        return f"owned by {owner}"
    if status is Status.OPEN and owner:
        return f"open, owner {owner}"
    if status is Status.OPEN:
        return "open, unowned"
    return status.label


def number(n: int) -> Span:
    return bold(f"#{n}")


def detail_spans(service: str, severity: int, summary: str) -> list[Inline]:
    return [text(f"[sev{severity}] "), bold(service), text(f": {summary}")]


def incident_spans(n: int, service: str, severity: int, summary: str) -> list[Inline]:
    return [number(n), text(" "), *detail_spans(service, severity, summary)]


def context_spans(incident: IncidentView) -> list[Inline]:
    """ " (staging, consumer fedora-review)": what the report said about where it broke."""
    said = [incident.environment, incident.consumer and f"consumer {incident.consumer}"]
    return [text(f" ({', '.join(w for w in said if w)})")] if any(said) else []


def reported(incident: IncidentView) -> Reply:
    """The announcement of a new incident, wherever it was reported from."""
    flags = [
        *(["unknown consumer"] if incident.consumer_known is False else []),
        *(["pointed at staging?"] if incident.staging_mixup else []),
    ]
    return Reply.of(
        [
            text("new incident "),
            *incident_spans(incident.number, incident.service, incident.severity, incident.summary),
            *context_spans(incident),
            text(f" (reported by {incident.reporter.name})"),
            *(text(f" — {flag}") for flag in flags),
        ]
    )


def fixed(incident: IncidentView, by: str, now: datetime, resolution: str | None) -> Reply:
    """The announcement of a fix: who, after how long, how."""
    return Reply.of(
        [
            number(incident.number),
            text(f" {incident.service} fixed by {by} after {duration(now - incident.created_at)}"),
            *([text(f": {resolution}")] if resolution else []),
        ]
    )


def describe_event(e: EventView) -> str:
    who = e.actor or "someone"
    tail = f": {e.detail}" if e.detail else ""
    match e.kind:
        case Action.REPORT:
            return f"{who} reported it (sev{e.severity}){' on ' + e.network if e.network else ''}"
        case Action.SEVERITY:
            return f"{who} set severity {e.severity}"
        case Action.ACK:
            return f"{who} acknowledged it"
        case Action.TAKE:
            return f"{who} took it"
        case Action.ASSIGN:
            return f"{who} assigned it to {e.target}"
        case Action.NOTE:
            return f"{who} noted{tail}"
        case Action.FIX:
            return f"{who} fixed it{tail}"
        case Action.REOPEN:
            return f"{who} reopened it{tail}"
        case Action.WONTFIX:
            return f"{who} closed it as won't fix{tail}"
        case Action.DUPLICATE:
            return f"{who} marked it a duplicate of #{e.other_number}"
        case Action.FOLLOWUP:
            return f"{who} marked a follow-up{tail}"
        case Action.ALERT:
            return f"{who}{tail}"
