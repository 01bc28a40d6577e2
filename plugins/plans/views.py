"""How plans read in chat: the list of planned deploys, the announcements (planned,
moved, cancelled, T-minus) and who of the expected responders is on duty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.messages import Inline, Reply, bold, text
from plugins.catalog.service import ServiceInfo
from plugins.common.chat import duration, plural
from plugins.common.when import moment
from plugins.plans.service import Notice, PlanView, Responder
from plugins.roster.service import Shift


@dataclass(frozen=True, slots=True)
class Wording:
    """How to plan a deploy and list the plans, in the words of where the text is read:
    a chat room or the command line."""

    plan: str
    plans: str

    @staticmethod
    def chat(prefix: str) -> Wording:
        return Wording(
            f"an admin plans one with {prefix}deploy plan <name> <date/time> [--api-break] "
            "[description]",
            f"{prefix}deploy plans",
        )


CLI = Wording("plan one with: deployday plan add NAME WHEN [--api-break]", "deployday plan list")


def listing(plans: list[PlanView], now: datetime, tz: tzinfo, wording: Wording) -> list[str]:
    if not plans:
        return [f"no deploy is planned; {wording.plan}"]
    lines = [plural(len(plans), "planned deploy")]
    for plan in plans:
        left = plan.planned_for - now
        when = f"in {duration(left)}" if left > timedelta(0) else f"due {duration(-left)} ago"
        extra = [
            *(["API BREAK"] if plan.api_break else []),
            *([f"expects {plan.responders}"] if plan.responders else []),
            f"planned by {plan.planned_by}",
        ]
        lines.append(
            f"{what(plan)} on {moment(plan.planned_for, tz)} ({when}) — {'; '.join(extra)}"
        )
    return lines


def announcement(
    notice: Notice, info: ServiceInfo | None, now: datetime, tz: tzinfo, wording: Wording
) -> Reply:
    """`info`: the catalogue entry of the service an API break changes."""
    plan = notice.plan
    spans: list[Inline]
    if notice.kind == "reminder":
        left = countdown(plan.planned_for - now)
        spans = [
            bold("Reminder: "),
            text(f"{what(plan)} starts in {left}, {moment(plan.planned_for, tz)}"),
        ]
    elif notice.kind == "moved":
        was = f" (was {moment(plan.moved_from, tz)})" if plan.moved_from else ""
        spans = [bold("Moved: "), text(f"{what(plan)} now on {moment(plan.planned_for, tz)}{was}")]
    elif notice.kind == "cancelled":
        spans = [
            bold("Cancelled: "),
            text(f"{what(plan)}, planned for {moment(plan.planned_for, tz)}, is off"),
        ]
        return Reply.of(spans)
    else:
        left = duration(plan.planned_for - now)
        spans = [
            bold("Planned: "),
            text(f"{what(plan)} on {moment(plan.planned_for, tz)}, in {left}"),
        ]
    if plan.api_break:
        spans += [text(" — "), bold("API BREAK")]
    if plan.description:
        spans.append(text(f" — {plan.description}"))
    lines: list[list[Inline] | str] = [spans]
    if plan.api_break:
        lines.append(_consumers_line(plan.service, info))
    if notice.kind == "planned":
        lines.append(f"planned by {plan.planned_by}; {wording.plans} lists what is planned")
    return Reply.of(*lines)


def checked_in(responders: list[Responder], shifts: list[Shift]) -> tuple[list[str], list[str]]:
    """Who of `responders` is on duty (people with their team, teams with who) and who not."""
    on: list[str] = []
    off: list[str] = []
    for r in responders:
        if r.person is not None:
            team = next((s.team for s in shifts if s.person.id == r.person.id), None)
            (on if team else off).append(f"{r.person.name} ({team})" if team else r.person.name)
        else:
            names = [s.person.name for s in shifts if s.team == r.team]
            (on if names else off).append(f"{r.team} ({', '.join(names)})" if names else r.label)
    return on, off


def what(plan: PlanView) -> str:
    of = f" of {plan.service}" if plan.service != plan.name else ""
    return f"deploy {plan.name}{of} ({plan.environment})"


def countdown(delta: timedelta) -> str:
    """A countdown to the minute: the check runs on the minute, not on the second."""
    return duration(timedelta(minutes=round(delta.total_seconds() / 60)))


def _consumers_line(service: str, info: ServiceInfo | None) -> str:
    known = ", ".join(f"{c.name} ({c.team})" for c in info.consumers) if info else ""
    if known:
        return (
            f"the {service} API breaks; known consumers: {known}; anyone else using it: say so now"
        )
    return f"the {service} API breaks and no consumers of it are known; anyone using it: say so now"
