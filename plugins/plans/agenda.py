"""What the calendar feed lists: every plan still planned, and those started or cancelled
that were due or changed lately, with their expected responders. Three queries whatever
the number of plans, so a calendar app polling the feed holds the database thread for
milliseconds, not a query per plan."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, or_, select

from bot.store import Person, Store
from bot.store.db import orm
from plugins.models import DeployPlan, ExpectedResponder
from plugins.plans.service import PLANNED, PlanView, Responder, responders_where, view_of

Agenda = list[tuple[PlanView, list[Responder]]]


async def agenda(store: Store, since: datetime) -> Agenda:
    """Soonest first; started and cancelled plans stay until both their time and their
    last change are older than `since` (so subscribed calendars see a cancellation)."""
    shown = or_(
        DeployPlan.status == PLANNED,
        DeployPlan.planned_for >= since,
        DeployPlan.changed_at >= since,
    )

    def unit(conn: Connection) -> Agenda:
        with orm(conn) as s:
            plans = s.execute(
                select(DeployPlan, Person.name)
                .join(Person, Person.id == DeployPlan.created_by)
                .where(shown)
                .order_by(DeployPlan.planned_for, DeployPlan.id)
            ).all()
            wanted: dict[int, list[Responder]] = defaultdict(list)
            chosen = select(DeployPlan.id).where(shown)
            for plan_id, responder in responders_where(s, ExpectedResponder.plan_id.in_(chosen)):
                wanted[plan_id].append(responder)
        return [(view_of(p, by, len(wanted[p.id])), wanted[p.id]) for p, by in plans]

    return await store.read(unit)
