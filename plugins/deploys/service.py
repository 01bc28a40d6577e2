"""Deploy days: start, end, lead, and which one is active; and the events other features
hear about them by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.commands import UserError
from bot.messages import Message
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.models import Deploy, DeployPlan, DutyShift

DEPLOY_STARTED = "deploy.started"  # payload: the DeployView
DEPLOY_ENDED = "deploy.ended"  # payload: a DeployEnded, after the end was announced


@dataclass(frozen=True, slots=True)
class DeployView:
    id: int
    name: str
    api_break: bool
    description: str | None
    active: bool
    started_at: datetime
    ended_at: datetime | None
    started_by: str
    lead: PersonRef | None
    environment: str | None = None


@dataclass(frozen=True, slots=True)
class DeployEnded:
    """The deploy that ended, and the command that ended it: what is for that person
    alone (where the digest file went) reaches them privately."""

    deploy: DeployView
    origin: Message | None


@dataclass(frozen=True, slots=True)
class Ended:
    deploy: DeployView
    checked_out: int


class DeployService:
    def __init__(self, store: Store, prefix: str) -> None:
        self._store = store
        self._p = prefix

    @staticmethod
    def of(api: PluginAPI) -> DeployService:
        """The app's one DeployService."""
        return api.shared(_deploy_service)

    async def start(
        self,
        name: str,
        api_break: bool,
        description: str | None,
        by: PersonRef,
        now: datetime,
        environment: str | None = None,
    ) -> DeployView:
        """Start a deploy; one planned under `name` is picked up: its API break,
        description and environment count unless given here."""
        try:
            async with self._store.write() as s:
                current = await _active(s)
                if current is not None:
                    raise UserError(
                        f"deploy {current.name} is already under way; "
                        f"end it first with {self._p}deploy end"
                    )
                plan = (
                    await s.execute(
                        select(DeployPlan)
                        .where(DeployPlan.name == name, DeployPlan.status == "planned")
                        .with_for_update()
                    )
                ).scalar_one_or_none()
                deploy = Deploy(
                    name=name,
                    api_break=api_break or (plan is not None and plan.api_break),
                    description=description or (plan.description if plan else None),
                    environment=environment or (plan.environment if plan else None),
                    status="active",
                    started_at=now,
                    started_by=by.id,
                )
                s.add(deploy)
                await s.flush()
                deploy_id = deploy.id
                if plan is not None:
                    plan.status, plan.deploy_id = "started", deploy_id
        except IntegrityError:
            raise UserError(
                f"another deploy was started at the same moment; see {self._p}deploy"
            ) from None
        view = await self.get(deploy_id)
        assert view is not None
        return view

    async def end(self, now: datetime) -> Ended:
        """End the active deploy; everyone still on duty is checked out with it."""
        async with self._store.write() as s:
            deploy = await _active(s, lock=True)
            if deploy is None:
                raise UserError("no deploy is under way")
            deploy.status, deploy.ended_at = "ended", now
            result = await s.execute(
                update(DutyShift).where(DutyShift.off_at.is_(None)).values(off_at=now)
            )
            deploy_id, checked_out = deploy.id, result.rowcount
        view = await self.get(deploy_id)
        assert view is not None
        return Ended(view, checked_out)

    async def set_lead(self, lead: PersonRef) -> DeployView:
        async with self._store.write() as s:
            deploy = await _active(s, lock=True)
            if deploy is None:
                raise UserError(f"no deploy is under way; {self._p}deploy start <name> first")
            deploy.lead_id = lead.id
            deploy_id = deploy.id
        view = await self.get(deploy_id)
        assert view is not None
        return view

    async def active(self) -> DeployView | None:
        async with self._store.read() as s:
            row = await s.scalar(select(Deploy.id).where(Deploy.status == "active"))
        return None if row is None else await self.get(row)

    async def by_name(self, name: str) -> DeployView | None:
        """The most recent deploy with this name."""
        async with self._store.read() as s:
            row = await s.scalar(
                select(Deploy.id)
                .where(Deploy.name == name)
                .order_by(Deploy.started_at.desc())
                .limit(1)
            )
        return None if row is None else await self.get(row)

    async def latest(self) -> DeployView | None:
        """The deploy started last, under way or not."""
        async with self._store.read() as s:
            deploy_id = await s.scalar(
                select(Deploy.id).order_by(Deploy.started_at.desc(), Deploy.id.desc()).limit(1)
            )
        return None if deploy_id is None else await self.get(deploy_id)

    async def get(self, deploy_id: int) -> DeployView | None:
        starter, lead = aliased(Person), aliased(Person)
        async with self._store.read() as s:
            row = (
                await s.execute(
                    select(Deploy, starter.name, lead.id, lead.name)
                    .join(starter, starter.id == Deploy.started_by)
                    .outerjoin(lead, lead.id == Deploy.lead_id)
                    .where(Deploy.id == deploy_id)
                )
            ).first()
        if row is None:
            return None
        d, starter_name, lead_id, lead_name = row
        return DeployView(
            d.id,
            d.name,
            d.api_break,
            d.description,
            d.status == "active",
            d.started_at,
            d.ended_at,
            starter_name,
            PersonRef(lead_id, lead_name) if lead_id is not None else None,
            d.environment,
        )


def _deploy_service(api: PluginAPI) -> DeployService:
    return DeployService(api.store, api.config.prefix)


async def _active(s: AsyncSession, lock: bool = False) -> Deploy | None:
    stmt = select(Deploy).where(Deploy.status == "active")
    if lock:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()
