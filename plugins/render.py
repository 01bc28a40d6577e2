"""How deploy-day facts read in chat: durations, local times, incident one-liners."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from bot.messages import Inline, Span, bold, text
from plugins.lifecycle import Status


def duration(delta: timedelta | None) -> str:
    """Short and human: 45s, 4m 10s, 1h 12m, 2d 3h."""
    if delta is None:
        return "—"
    total = round(delta.total_seconds())
    if total < 0:
        total = 0
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"
    return f"{seconds}s"


def plural(n: int, singular: str, many: str | None = None) -> str:
    return f"{n} {singular if n == 1 else many or singular + 's'}"


def clock_time(when: datetime, tz: tzinfo, now: datetime) -> str:
    """HH:MM in the configured zone; with the date when it is not today there."""
    local = when.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return f"{local:%b} {local.day} {local:%H:%M}"


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
