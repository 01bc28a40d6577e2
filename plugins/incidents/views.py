"""How incidents read in chat and in digests: one-liners, status, timeline events."""

from __future__ import annotations

from bot.messages import Inline, Span, bold, text
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.service import EventView


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
