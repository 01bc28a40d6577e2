"""What falls due for plans on a schedule: changes made offline (the command line), the
T-minus reminders, and the one reminder to expected responders not on duty. Whatever
goes out is claimed and recorded in the same transaction that decides it, so a restart
or a second instance never repeats an announcement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store import Store
from bot.store.db import orm
from plugins.common.when import span_label
from plugins.models import Deploy, DeployPlan, DutyShift, ExpectedResponder, PlanNotice
from plugins.plans.service import PLANNED, Notice, Responder, plan_view, responders_of


@dataclass(frozen=True, slots=True)
class Missing:
    """Expected responders of a running deploy still not on duty: reminded now, once."""

    deploy: str
    responders: list[Responder]


@dataclass(frozen=True, slots=True)
class Due:
    notices: list[Notice]
    missing: Missing | None
    next_check: datetime | None  # nothing can fall due before this, as the database stands


async def claim_due(
    store: Store, now: datetime, reminders: Sequence[timedelta], remind_after: timedelta
) -> Due:
    """Claim what is due now: changes made offline, T-minus reminders (when several
    fell due while the bot was away, only the latest is posted; all are recorded) and
    the one reminder to expected responders of the running deploy who are not on
    duty `remind_after` into it. Returns them and when to look again."""

    def unit(conn: Connection) -> Due:
        with orm(conn) as s:
            notices = _offline_changes(s)
            reminded, next_reminder = _reminders(s, now, reminders, {n.plan.id for n in notices})
            missing, next_missing = _missing(s, now, remind_after)
        times = [t for t in (next_reminder, next_missing) if t is not None]
        return Due(notices + reminded, missing, min(times, default=None))

    try:
        return await store.write(unit)
    except IntegrityError:  # another instance claimed the same reminders first
        return Due([], None, None)


def _offline_changes(s: Session) -> list[Notice]:
    plans = (
        s.scalars(
            select(DeployPlan)
            .where(DeployPlan.pending_notice.is_not(None))
            .order_by(DeployPlan.id)
            .with_for_update()
        )
    ).all()
    notices = []
    for plan in plans:
        kind, plan.pending_notice = plan.pending_notice, None
        s.flush()
        notices.append(Notice(kind or PLANNED, plan_view(s, plan.id)))
    return notices


def _reminders(
    s: Session, now: datetime, befores: Sequence[timedelta], skip: set[int]
) -> tuple[list[Notice], datetime | None]:
    """T-minus reminders due now (recorded as sent) and the time of the next one. A
    reminder whose moment passed before the plan's time was announced is not sent."""
    plans = (
        s.scalars(
            select(DeployPlan)
            .where(DeployPlan.status == PLANNED, DeployPlan.planned_for > now)
            .order_by(DeployPlan.planned_for, DeployPlan.id)
            .with_for_update()
        )
    ).all()
    notices: list[Notice] = []
    upcoming: list[datetime] = []
    for plan in plans:
        sent = set(
            (
                s.scalars(
                    select(PlanNotice.kind).where(
                        PlanNotice.plan_id == plan.id, PlanNotice.planned_for == plan.planned_for
                    )
                )
            ).all()
        )
        armed = [b for b in befores if plan.armed_at < plan.planned_for - b]
        unsent = [b for b in armed if span_label(b) not in sent]
        due = [b for b in unsent if plan.planned_for - b <= now]
        upcoming += [plan.planned_for - b for b in unsent if plan.planned_for - b > now]
        if not due:
            continue
        s.add_all(
            PlanNotice(plan_id=plan.id, kind=span_label(b), planned_for=plan.planned_for, at=now)
            for b in due
        )
        if plan.id not in skip:
            notices.append(Notice("reminder", plan_view(s, plan.id)))
    s.flush()
    return notices, min(upcoming, default=None)


def _missing(
    s: Session, now: datetime, remind_after: timedelta
) -> tuple[Missing | None, datetime | None]:
    row = (
        s.execute(
            select(DeployPlan, Deploy.name, Deploy.started_at)
            .join(Deploy, Deploy.id == DeployPlan.deploy_id)
            .where(Deploy.status == "active", DeployPlan.responders_reminded_at.is_(None))
            .with_for_update(of=DeployPlan)
        )
    ).first()
    if row is None:
        return None, None
    plan, deploy, started_at = row
    if now < started_at + remind_after:
        return None, started_at + remind_after
    plan.responders_reminded_at = now
    on_duty = (
        s.execute(select(DutyShift.person_id, DutyShift.team).where(DutyShift.off_at.is_(None)))
    ).all()
    people = {r.person_id for r in on_duty}
    teams = {r.team for r in on_duty}
    missing = [
        r
        for r in responders_of(s, plan.id)
        if r.reminded_at is None and not (r.person.id in people if r.person else r.team in teams)
    ]
    if not missing:
        return None, None
    keys = {(m.person.id if m.person else None, m.team) for m in missing}
    for r in (
        s.scalars(select(ExpectedResponder).where(ExpectedResponder.plan_id == plan.id))
    ).all():
        if (r.person_id, r.team) in keys:
            r.reminded_at = now
    return Missing(deploy, missing), None
