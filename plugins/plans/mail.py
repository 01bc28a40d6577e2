"""The mailed announcement of a plan: subject and plain-text body, pure so the wording
is unit-tested; the commands send it to the lists the settings name."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from plugins.catalog.service import ServiceInfo
from plugins.common.when import moment
from plugins.plans.service import Notice
from plugins.plans.views import countdown


def mail_text(
    notice: Notice, info: ServiceInfo | None, tz: tzinfo, now: datetime
) -> tuple[str, str]:
    """Subject and plain-text body of a mailed announcement. An API break says so first in
    the subject and in capitals in the body, apart from routine deploy notices."""
    plan = notice.plan
    when = moment(plan.planned_for, tz)
    utc = f"{plan.planned_for.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    of = plan.name + (f" of {plan.service}" if plan.service != plan.name else "")
    what, it = f"deploy {of}", f"Deploy {of} ({plan.environment})"
    tag = "[API BREAK]" if plan.api_break else "[deploy]"  # short: long subjects get folded
    left = countdown(plan.planned_for - now)
    if notice.kind == "reminder":
        subject = f"{tag} in {left}: {of}, {when}"
        opening = f"Reminder: {what} ({plan.environment}) starts in {left}, on {when} ({utc})."
    elif notice.kind == "moved":
        was = f"; it was planned for {moment(plan.moved_from, tz)}" if plan.moved_from else ""
        subject = f"{tag} moved: {of}, now {when}"
        opening = f"{it} has moved to {when} ({utc}){was}."
    elif notice.kind == "cancelled":
        subject = f"{tag} cancelled: {of}, was {when}"
        opening = f"{it}, planned for {when}, is cancelled; nothing changes then."
    else:
        subject = f"{tag} {of}: {when}"
        opening = f"{it} is planned for {when} ({utc})."
    body = [opening, ""]
    if plan.api_break and notice.kind != "cancelled":
        owner = info.team if info and info.team else "infrastructure"
        consumers = ", ".join(f"{c.name} ({c.team})" for c in info.consumers) if info else ""
        body += [
            f"THE {plan.service.upper()} API BREAKS. Anything written against the current "
            f"{plan.service} API may stop working when this deploy goes out; update it "
            "before then.",
            "",
            f"Known consumers: {consumers}."
            if consumers
            else f"No consumers of {plan.service} are known.",
            f"If you use {plan.service} and are not listed, tell the {owner} team before the "
            "deploy, so that you are paged on the day.",
            "",
        ]
    elif notice.kind != "cancelled":
        body += [f"The {plan.service} API does not change.", ""]
    if plan.description:
        body += [f"What changes: {plan.description}", ""]
    body.append(f"Planned by {plan.planned_by}.")
    return subject, "\n".join(body) + "\n"
