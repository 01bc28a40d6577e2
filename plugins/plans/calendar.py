"""Planned deploys as an iCalendar (RFC 5545) feed, for the people outside infra who must
be reachable: each plan is one event whose UID never changes, so a subscribed calendar
replaces its copy when the plan moves (SEQUENCE goes up) and shows it cancelled when it
is called off; the T-minus reminders ride along as alarms. The feed reads the same until
a plan changes, so a published file only changes when there is news."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from plugins.common.when import span_label
from plugins.plans.service import CANCELLED, PlanView, Responder
from plugins.plans.views import what

# icalendar is imported by the functions that build a feed, not here: it costs every start
# ~30 ms and megabytes, and most bots never serve the calendar.
if TYPE_CHECKING:
    from icalendar import Alarm, Event

PRODID = "-//deployday//planned deploys//EN"
REFRESH = timedelta(hours=1)  # how often subscribed clients are asked to look again


@dataclass(frozen=True, slots=True)
class FeedShape:
    """What the config says about the feed."""

    name: str  # the calendar's name in clients (X-WR-CALNAME, NAME)
    domain: str  # the right-hand side of every UID
    duration: timedelta  # plans have a start only; this is how long an event lasts
    reminders: Sequence[timedelta]  # plans.remind_before: one alarm each


def uid(plan_id: int, domain: str) -> str:
    """The event's identity for as long as the plan exists: its id, never its name or time."""
    return f"plan-{plan_id}@{domain}"


def feed(plans: Sequence[tuple[PlanView, Sequence[Responder]]], shape: FeedShape) -> bytes:
    """The calendar of `plans`, each with its expected responders."""
    from icalendar import Calendar, vDuration, vText

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    # escaped as text explicitly: icalendar writes these two raw (a comma would split it)
    cal.add("x-wr-calname", vText(shape.name))
    cal.add("name", vText(shape.name))
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    for plan, responders in plans:
        cal.add_component(event(plan, responders, shape))
    return cal.to_ical()


def event(plan: PlanView, responders: Sequence[Responder], shape: FeedShape) -> Event:
    """One plan as an event. DTSTAMP is when it last changed (not when the feed was made),
    so clients see a change only when there is one."""
    from icalendar import Event

    changed = _utc(plan.changed_at or plan.created_at or plan.planned_for)
    cancelled = plan.status == CANCELLED
    e = Event()
    e.add("uid", uid(plan.id, shape.domain))
    e.add("dtstamp", changed)
    e.add("last-modified", changed)
    if plan.created_at is not None:
        e.add("created", _utc(plan.created_at))
    e.add("sequence", plan.revision)
    e.add("summary", summary(plan))
    e.add("dtstart", _utc(plan.planned_for))
    e.add("dtend", _utc(plan.planned_for + shape.duration))
    e.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    e.add("transp", "TRANSPARENT")  # a deploy tells people to be reachable, not busy
    e.add("categories", ["Deploy", "API break"] if plan.api_break else ["Deploy"])
    e.add("description", description(plan, responders))
    if not cancelled:
        for before in shape.reminders:
            e.add_component(alarm(plan, before))
    return e


def summary(plan: PlanView) -> str:
    title = what(plan)
    title = title[0].upper() + title[1:]
    if plan.api_break:
        title += " — API BREAK"
    return f"Cancelled: {title}" if plan.status == CANCELLED else title


def description(plan: PlanView, responders: Sequence[Responder]) -> str:
    lines = [plan.description] if plan.description else []
    if plan.status == CANCELLED:
        lines.append("This deploy is cancelled.")
    if plan.api_break:
        lines.append(f"It breaks the {plan.service} API: anyone using it, be reachable.")
    if responders:
        lines.append(f"Expected on duty: {', '.join(r.label for r in responders)}")
    lines.append(f"Planned by {plan.planned_by}.")
    return "\n".join(lines)


def alarm(plan: PlanView, before: timedelta) -> Alarm:
    from icalendar import Alarm

    a = Alarm()
    a.add("action", "DISPLAY")
    a.add("trigger", -before)
    a.add("description", f"{summary(plan)} starts in {span_label(before)}")
    return a


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC)
