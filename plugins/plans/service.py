"""Planned deploys: plan, move, cancel, list, and who is expected to be reachable (what
falls due on a schedule is claimed in `due`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import ColumnElement, Connection, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.commands import UserError
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Person, Store
from bot.store.db import orm
from plugins.common.when import moment
from plugins.models import Deploy, DeployPlan, ExpectedResponder

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
    created_at: datetime | None = None
    revision: int = 0  # changes made since it was planned (moved, cancelled, responders)
    changed_at: datetime | None = None


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

        def unit(conn: Connection) -> PlanView:
            with orm(conn) as s:
                taken = _planned(s, name)
                if taken is not None:
                    raise UserError(
                        f"deploy {name} is already planned for "
                        f"{moment(taken.planned_for, self._tz)}; {self._p}deploy move {name} "
                        "<when> changes it"
                    )
                self._not_mid_deploy(s, service)
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
                s.flush()
                return plan_view(s, plan.id)

        try:
            return await self._store.write(unit)
        except IntegrityError:
            raise UserError(
                f"deploy {name} was planned by someone else at the same moment; "
                f"{self._p}deploy plans lists what is planned"
            ) from None

    def _not_mid_deploy(self, s: Session, service: str) -> None:
        row = s.execute(
            select(Deploy.name, Deploy.started_at, DeployPlan.service)
            .outerjoin(DeployPlan, DeployPlan.deploy_id == Deploy.id)
            .where(Deploy.status == "active")
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

        def unit(conn: Connection) -> PlanView:
            with orm(conn) as s:
                plan = self._planned_or_refuse(s, name)
                if plan.planned_for == planned_for:
                    raise UserError(
                        f"deploy {name} is already planned for {moment(planned_for, self._tz)}"
                    )
                plan.moved_from, plan.planned_for = plan.planned_for, planned_for
                plan.armed_at = now
                _revised(plan, now)
                if not offline:
                    plan.pending_notice = None
                elif plan.pending_notice != PLANNED:  # never announced in chat: still "planned"
                    plan.pending_notice = "moved"
                s.flush()
                return plan_view(s, plan.id)

        return await self._store.write(unit)

    async def cancel(self, name: str, now: datetime, *, offline: bool = False) -> PlanView:

        def unit(conn: Connection) -> PlanView:
            with orm(conn) as s:
                plan = self._planned_or_refuse(s, name)
                plan.status = CANCELLED
                _revised(plan, now)
                # a plan chat never heard of is cancelled quietly there
                unheard = plan.pending_notice == PLANNED
                plan.pending_notice = CANCELLED if offline and not unheard else None
                s.flush()
                return plan_view(s, plan.id)

        return await self._store.write(unit)

    async def take_pending(self, plan_id: int) -> str | None:
        """Claim the chat announcement a change made offline still owes (planned, moved,
        cancelled), so that one process makes it; None when none is owed."""

        def unit(conn: Connection) -> str | None:
            plan = DeployPlan.__table__
            kind = conn.scalar(
                select(plan.c.pending_notice).where(plan.c.id == plan_id).with_for_update()
            )
            conn.execute(update(plan).where(plan.c.id == plan_id).values(pending_notice=None))
            return kind

        return await self._store.write(unit)

    async def leave_pending(self, plan_id: int, kind: str) -> None:
        """Hand a claimed announcement back to the bot's next look (no chat was served)."""
        plan = DeployPlan.__table__
        stmt = (
            update(plan)
            .where(plan.c.id == plan_id, plan.c.pending_notice.is_(None))
            .values(pending_notice=kind)
        )
        await self._store.write(lambda c: c.execute(stmt))

    def _planned_or_refuse(self, s: Session, name: str) -> DeployPlan:
        plan = _planned(s, name, lock=True)
        if plan is None:
            raise UserError(
                f"no deploy named {name[:64]} is planned; {self._p}deploy plans lists them"
            )
        return plan

    async def upcoming(self) -> list[PlanView]:
        """Plans not started or cancelled yet, soonest first."""

        def unit(conn: Connection) -> list[PlanView]:
            with orm(conn) as s:
                ids = s.scalars(
                    select(DeployPlan.id)
                    .where(DeployPlan.status == PLANNED)
                    .order_by(DeployPlan.planned_for, DeployPlan.id)
                ).all()
                return [plan_view(s, i) for i in ids]

        return await self._store.read(unit)

    async def of_deploy(self, deploy_id: int) -> PlanView | None:
        """The plan a deploy was started from, if it was planned."""

        def unit(conn: Connection) -> PlanView | None:
            with orm(conn) as s:
                plan_id = s.scalar(select(DeployPlan.id).where(DeployPlan.deploy_id == deploy_id))
                return None if plan_id is None else plan_view(s, plan_id)

        return await self._store.read(unit)

    async def expect(
        self,
        name: str,
        wanted: Sequence[PersonRef | str],
        by: PersonRef,
        now: datetime,
    ) -> tuple[PlanView, list[Responder]]:
        """Add expected responders (people, or teams by name) to a planned (or running,
        planned) deploy, in order; returns all of them. Nobody is added twice."""

        def unit(conn: Connection) -> tuple[PlanView, list[Responder]]:
            with orm(conn) as s:
                plan = _planned(s, name)
                if plan is None:
                    plan = (
                        s.execute(
                            select(DeployPlan)
                            .join(Deploy, Deploy.id == DeployPlan.deploy_id)
                            .where(Deploy.name == name, Deploy.status == "active")
                        )
                    ).scalar_one_or_none()
                if plan is None:
                    active = s.scalar(
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
                have = {r.person.id if r.person else r.team for r in responders_of(s, plan.id)}
                named = len(have)
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
                if len(have) > named:
                    _revised(plan, now)
                    s.flush()
                return plan_view(s, plan.id), responders_of(s, plan.id)

        return await self._store.write(unit)

    async def responders(self, plan_id: int) -> list[Responder]:
        def unit(conn: Connection) -> list[Responder]:
            with orm(conn) as s:
                return responders_of(s, plan_id)

        return await self._store.read(unit)


def _revised(plan: DeployPlan, now: datetime) -> None:
    """Count a change a calendar shows (once per transaction)."""
    plan.revision += 1
    plan.changed_at = now


def _plan_service(api: PluginAPI) -> PlanService:
    return PlanService(api.store, api.config.prefix, api.config.tz)


def _planned(s: Session, name: str, lock: bool = False) -> DeployPlan | None:
    stmt = select(DeployPlan).where(DeployPlan.name == name, DeployPlan.status == PLANNED)
    if lock:
        stmt = stmt.with_for_update()
    return (s.execute(stmt)).scalar_one_or_none()


def plan_view(s: Session, plan_id: int) -> PlanView:
    """The plan as commands show it, read in the caller's transaction."""
    p, by = (
        s.execute(
            select(DeployPlan, Person.name)
            .join(Person, Person.id == DeployPlan.created_by)
            .where(DeployPlan.id == plan_id)
        )
    ).one()
    count = s.scalar(
        select(func.count(ExpectedResponder.id)).where(ExpectedResponder.plan_id == plan_id)
    )
    return view_of(p, by, count or 0)


def view_of(p: DeployPlan, planned_by: str, responders: int) -> PlanView:
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
        planned_by,
        responders,
        p.created_at,
        p.revision,
        p.changed_at,
    )


def responders_of(s: Session, plan_id: int) -> list[Responder]:
    """Who the plan expects, in the order they were named, in the caller's transaction."""
    return [r for _, r in responders_where(s, ExpectedResponder.plan_id == plan_id)]


def responders_where(s: Session, *where: ColumnElement[bool]) -> list[tuple[int, Responder]]:
    """(plan id, responder) of the plans `where` picks, in the order they were named."""
    person = aliased(Person)
    rows = s.execute(
        select(ExpectedResponder, person.name)
        .outerjoin(person, person.id == ExpectedResponder.person_id)
        .where(*where)
        .order_by(ExpectedResponder.id)
    ).all()
    return [
        (
            r.plan_id,
            Responder(
                PersonRef(r.person_id, name) if r.person_id is not None else None,
                r.team,
                r.reminded_at,
            ),
        )
        for r, name in rows
    ]
