"""Planned deploys: plan, move, cancel, list; who is expected to be reachable; and which
announcements are due. Whatever goes out is claimed and recorded in the same transaction
that decides it, so a restart or a second instance never repeats an announcement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.commands import UserError
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.common.when import moment, span_label
from plugins.models import Deploy, DeployPlan, DutyShift, ExpectedResponder, PlanNotice

PLANNED, STARTED, CANCELLED = "planned", "started", "cancelled"


@dataclass(frozen=True, slots=True)
class PlanView:
    id: int
    name: str
    service: str
    environment: str
    api_break: bool
    description: str | None
    planned_for: datetime
    moved_from: datetime | None
    status: str  # planned | started | cancelled
    planned_by: str
    responders: int = 0


@dataclass(frozen=True, slots=True)
class Responder:
    """A person or a whole team expected to be reachable."""

    person: PersonRef | None
    team: str | None
    reminded_at: datetime | None = None

    @property
    def label(self) -> str:
        return self.person.name if self.person else self.team or "?"


@dataclass(frozen=True, slots=True)
class Notice:
    """An announcement to post: `kind` is planned, moved or cancelled (a change made from
    the command line, not yet announced in chat) or reminder (T-minus)."""

    kind: str
    plan: PlanView


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


class PlanService:
    def __init__(self, store: Store, prefix: str, tz: tzinfo) -> None:
        self._store = store
        self._p = prefix
        self._tz = tz

    @staticmethod
    def of(api: PluginAPI) -> PlanService:
        """The app's one PlanService."""
        return api.shared(_plan_service)

    async def create(
        self,
        name: str,
        service: str,
        environment: str,
        api_break: bool,
        description: str | None,
        planned_for: datetime,
        by: PersonRef,
        now: datetime,
        *,
        offline: bool = False,
    ) -> PlanView:
        """`offline`: made where no chat is (the CLI); the bot announces it at its next check."""
        try:
            async with self._store.write() as s:
                taken = await _planned(s, name)
                if taken is not None:
                    raise UserError(
                        f"deploy {name} is already planned for "
                        f"{moment(taken.planned_for, self._tz)}; {self._p}deploy move {name} "
                        "<when> changes it"
                    )
                await self._not_mid_deploy(s, service)
                plan = DeployPlan(
                    name=name,
                    service=service,
                    environment=environment,
                    api_break=api_break,
                    description=description,
                    planned_for=planned_for,
                    status=PLANNED,
                    armed_at=now,
                    pending_notice=PLANNED if offline else None,
                    created_by=by.id,
                    created_at=now,
                )
                s.add(plan)
                await s.flush()
                plan_id = plan.id
        except IntegrityError:
            raise UserError(
                f"deploy {name} was planned by someone else at the same moment; "
                f"{self._p}deploy plans lists what is planned"
            ) from None
        return await self._view(plan_id)

    async def _not_mid_deploy(self, s: AsyncSession, service: str) -> None:
        row = (
            await s.execute(
                select(Deploy.name, Deploy.started_at, DeployPlan.service)
                .outerjoin(DeployPlan, DeployPlan.deploy_id == Deploy.id)
                .where(Deploy.status == "active")
            )
        ).first()
        if row is not None and (row.service or row.name) == service:
            raise UserError(
                f"{service} is mid-deploy (deploy {row.name}, under way since "
                f"{moment(row.started_at, self._tz)}); plan the next one after "
                f"{self._p}deploy end"
            )

    async def move(
        self, name: str, planned_for: datetime, now: datetime, *, offline: bool = False
    ) -> PlanView:
        async with self._store.write() as s:
            plan = await self._planned_or_refuse(s, name)
            if plan.planned_for == planned_for:
                raise UserError(
                    f"deploy {name} is already planned for {moment(planned_for, self._tz)}"
                )
            plan.moved_from, plan.planned_for, plan.armed_at = plan.planned_for, planned_for, now
            if not offline:
                plan.pending_notice = None
            elif plan.pending_notice != PLANNED:  # never announced in chat: still "planned"
                plan.pending_notice = "moved"
            plan_id = plan.id
        return await self._view(plan_id)

    async def cancel(self, name: str, *, offline: bool = False) -> PlanView:
        async with self._store.write() as s:
            plan = await self._planned_or_refuse(s, name)
            plan.status = CANCELLED
            # a plan chat never heard of is cancelled quietly there
            unheard = plan.pending_notice == PLANNED
            plan.pending_notice = CANCELLED if offline and not unheard else None
            plan_id = plan.id
        return await self._view(plan_id)

    async def _planned_or_refuse(self, s: AsyncSession, name: str) -> DeployPlan:
        plan = await _planned(s, name, lock=True)
        if plan is None:
            raise UserError(
                f"no deploy named {name[:64]} is planned; {self._p}deploy plans lists them"
            )
        return plan

    async def upcoming(self) -> list[PlanView]:
        """Plans not started or cancelled yet, soonest first."""
        async with self._store.read() as s:
            ids = (
                await s.scalars(
                    select(DeployPlan.id)
                    .where(DeployPlan.status == PLANNED)
                    .order_by(DeployPlan.planned_for, DeployPlan.id)
                )
            ).all()
            return [await _view(s, i) for i in ids]

    async def of_deploy(self, deploy_id: int) -> PlanView | None:
        """The plan a deploy was started from, if it was planned."""
        async with self._store.read() as s:
            plan_id = await s.scalar(select(DeployPlan.id).where(DeployPlan.deploy_id == deploy_id))
            return None if plan_id is None else await _view(s, plan_id)

    async def expect(
        self,
        name: str,
        wanted: Sequence[PersonRef | str],
        by: PersonRef,
        now: datetime,
    ) -> tuple[PlanView, list[Responder]]:
        """Add expected responders (people, or teams by name) to a planned (or running,
        planned) deploy, in order; returns all of them. Nobody is added twice."""
        async with self._store.write() as s:
            plan = await _planned(s, name)
            if plan is None:
                plan = (
                    await s.execute(
                        select(DeployPlan)
                        .join(Deploy, Deploy.id == DeployPlan.deploy_id)
                        .where(Deploy.name == name, Deploy.status == "active")
                    )
                ).scalar_one_or_none()
            if plan is None:
                active = await s.scalar(
                    select(Deploy.id).where(Deploy.name == name, Deploy.status == "active")
                )
                if active is not None:
                    raise UserError(
                        f"deploy {name} was not planned, so it has no expected responders; "
                        f"plan the next one with {self._p}deploy plan"
                    )
                raise UserError(
                    f"no deploy named {name[:64]} is planned; {self._p}deploy plans lists them"
                )
            have = {r.person.id if r.person else r.team for r in await _responders(s, plan.id)}
            for who in wanted:
                key = who if isinstance(who, str) else who.id
                if key in have:
                    continue
                have.add(key)
                s.add(
                    ExpectedResponder(
                        plan_id=plan.id,
                        person_id=None if isinstance(who, str) else who.id,
                        team=who if isinstance(who, str) else None,
                        added_by=by.id,
                        added_at=now,
                    )
                )
                await s.flush()
            return await _view(s, plan.id), await _responders(s, plan.id)

    async def responders(self, plan_id: int) -> list[Responder]:
        async with self._store.read() as s:
            return await _responders(s, plan_id)

    async def due(
        self, now: datetime, reminders: Sequence[timedelta], remind_after: timedelta
    ) -> Due:
        """Claim what is due now: changes made offline, T-minus reminders (when several
        fell due while the bot was away, only the latest is posted; all are recorded) and
        the one reminder to expected responders of the running deploy who are not on
        duty `remind_after` into it. Returns them and when to look again."""
        try:
            async with self._store.write() as s:
                notices = await _offline_changes(s)
                reminded, next_reminder = await _reminders(
                    s, now, reminders, {n.plan.id for n in notices}
                )
                missing, next_missing = await _missing(s, now, remind_after)
        except IntegrityError:  # another instance claimed the same reminders first
            return Due([], None, None)
        times = [t for t in (next_reminder, next_missing) if t is not None]
        return Due(notices + reminded, missing, min(times, default=None))

    async def _view(self, plan_id: int) -> PlanView:
        async with self._store.read() as s:
            return await _view(s, plan_id)


def _plan_service(api: PluginAPI) -> PlanService:
    return PlanService(api.store, api.config.prefix, api.config.tz)


async def _planned(s: AsyncSession, name: str, lock: bool = False) -> DeployPlan | None:
    stmt = select(DeployPlan).where(DeployPlan.name == name, DeployPlan.status == PLANNED)
    if lock:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()


async def _view(s: AsyncSession, plan_id: int) -> PlanView:
    p, by = (
        await s.execute(
            select(DeployPlan, Person.name)
            .join(Person, Person.id == DeployPlan.created_by)
            .where(DeployPlan.id == plan_id)
        )
    ).one()
    count = await s.scalar(
        select(func.count(ExpectedResponder.id)).where(ExpectedResponder.plan_id == plan_id)
    )
    return PlanView(
        p.id,
        p.name,
        p.service,
        p.environment,
        p.api_break,
        p.description,
        p.planned_for,
        p.moved_from,
        p.status,
        by,
        count or 0,
    )


async def _responders(s: AsyncSession, plan_id: int) -> list[Responder]:
    person = aliased(Person)
    rows = (
        await s.execute(
            select(ExpectedResponder, person.name)
            .outerjoin(person, person.id == ExpectedResponder.person_id)
            .where(ExpectedResponder.plan_id == plan_id)
            .order_by(ExpectedResponder.id)
        )
    ).all()
    return [
        Responder(
            PersonRef(r.person_id, name) if r.person_id is not None else None,
            r.team,
            r.reminded_at,
        )
        for r, name in rows
    ]


async def _offline_changes(s: AsyncSession) -> list[Notice]:
    plans = (
        await s.scalars(
            select(DeployPlan)
            .where(DeployPlan.pending_notice.is_not(None))
            .order_by(DeployPlan.id)
            .with_for_update()
        )
    ).all()
    notices = []
    for plan in plans:
        kind, plan.pending_notice = plan.pending_notice, None
        await s.flush()
        notices.append(Notice(kind or PLANNED, await _view(s, plan.id)))
    return notices


async def _reminders(
    s: AsyncSession, now: datetime, befores: Sequence[timedelta], skip: set[int]
) -> tuple[list[Notice], datetime | None]:
    """T-minus reminders due now (recorded as sent) and the time of the next one. A
    reminder whose moment passed before the plan's time was announced is not sent."""
    plans = (
        await s.scalars(
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
                await s.scalars(
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
            notices.append(Notice("reminder", await _view(s, plan.id)))
    await s.flush()
    return notices, min(upcoming, default=None)


async def _missing(
    s: AsyncSession, now: datetime, remind_after: timedelta
) -> tuple[Missing | None, datetime | None]:
    row = (
        await s.execute(
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
        await s.execute(
            select(DutyShift.person_id, DutyShift.team).where(DutyShift.off_at.is_(None))
        )
    ).all()
    people = {r.person_id for r in on_duty}
    teams = {r.team for r in on_duty}
    missing = [
        r
        for r in await _responders(s, plan.id)
        if r.reminded_at is None and not (r.person.id in people if r.person else r.team in teams)
    ]
    if not missing:
        return None, None
    keys = {(m.person.id if m.person else None, m.team) for m in missing}
    for r in (
        await s.scalars(select(ExpectedResponder).where(ExpectedResponder.plan_id == plan.id))
    ).all():
        if (r.person_id, r.team) in keys:
            r.reminded_at = now
    return Missing(deploy, missing), None
