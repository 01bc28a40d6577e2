"""Deploy days: start, end, lead, and which one is active; and the events other features
hear about them by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.commands import UserError
from bot.messages import Message
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Person, Store
from bot.store.db import orm
from bot.store.workers import Unit, writing
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

    def starting(
        self,
        name: str,
        api_break: bool,
        description: str | None,
        by: PersonRef,
        now: datetime,
        environment: str | None = None,
    ) -> Unit[DeployView]:
        """Start a deploy (`start`); one planned under `name` is picked up: its API
        break, description and environment count unless given here."""

        def unit(conn: Connection) -> DeployView:
            try:
                return started(conn)
            except IntegrityError:
                raise UserError(
                    f"another deploy was started at the same moment; see {self._p}deploy"
                ) from None

        def started(conn: Connection) -> DeployView:
            with orm(conn) as s:
                current = _active(s)
                if current is not None:
                    raise UserError(
                        f"deploy {current.name} is already under way; "
                        f"end it first with {self._p}deploy end"
                    )
                plan = s.execute(
                    select(DeployPlan)
                    .where(DeployPlan.name == name, DeployPlan.status == "planned")
                    .with_for_update()
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
                s.flush()
                if plan is not None:
                    plan.status, plan.deploy_id = "started", deploy.id
                deploy_id = deploy.id
            return _view(conn, deploy_id)

        return unit

    def ending(self, now: datetime) -> Unit[Ended]:
        """End the active deploy (`end`); everyone still on duty is checked out with it."""

        def unit(conn: Connection) -> Ended:
            deploy_id = conn.scalar(_ACTIVE_ID.with_for_update())
            if deploy_id is None:
                raise UserError("no deploy is under way")
            conn.execute(
                update(Deploy).where(Deploy.id == deploy_id).values(status="ended", ended_at=now)
            )
            result = conn.execute(
                update(DutyShift).where(DutyShift.off_at.is_(None)).values(off_at=now)
            )
            return Ended(_view(conn, deploy_id), result.rowcount)

        return unit

    start = writing(starting)
    end = writing(ending)

    async def set_lead(self, lead: PersonRef) -> DeployView:
        def unit(conn: Connection) -> DeployView:
            deploy_id = conn.scalar(_ACTIVE_ID.with_for_update())
            if deploy_id is None:
                raise UserError(f"no deploy is under way; {self._p}deploy start <name> first")
            conn.execute(update(Deploy).where(Deploy.id == deploy_id).values(lead_id=lead.id))
            return _view(conn, deploy_id)

        return await self._store.write(unit)

    async def active(self) -> DeployView | None:
        return await self._store.read(lambda c: _first(c, _ACTIVE_ID))

    async def by_name(self, name: str) -> DeployView | None:
        """The most recent deploy with this name."""
        stmt = (
            select(Deploy.id).where(Deploy.name == name).order_by(Deploy.started_at.desc()).limit(1)
        )
        return await self._store.read(lambda c: _first(c, stmt))

    async def latest(self) -> DeployView | None:
        """The deploy started last, under way or not."""
        stmt = select(Deploy.id).order_by(Deploy.started_at.desc(), Deploy.id.desc()).limit(1)
        return await self._store.read(lambda c: _first(c, stmt))

    async def get(self, deploy_id: int) -> DeployView | None:
        stmt = select(Deploy.id).where(Deploy.id == deploy_id)
        return await self._store.read(lambda c: _first(c, stmt))


def _deploy_service(api: PluginAPI) -> DeployService:
    return DeployService(api.store, api.config.prefix)


_ACTIVE_ID = select(Deploy.id).where(Deploy.status == "active")
_STARTER, _LEAD = aliased(Person), aliased(Person)
_VIEW = (
    select(
        Deploy.__table__,
        _STARTER.name.label("starter_name"),
        _LEAD.name.label("lead_name"),
    )
    .join(_STARTER, _STARTER.id == Deploy.started_by)
    .outerjoin(_LEAD, _LEAD.id == Deploy.lead_id)
)


def _active(s: Session) -> Deploy | None:
    return s.execute(select(Deploy).where(Deploy.status == "active")).scalar_one_or_none()


def _first(conn: Connection, ids: Select[tuple[int]]) -> DeployView | None:
    """The deploy whose id `ids` selects first, if any."""
    deploy_id = conn.scalar(ids)
    return None if deploy_id is None else _view(conn, deploy_id)


def _view(conn: Connection, deploy_id: int) -> DeployView:
    d = conn.execute(_VIEW.where(Deploy.id == deploy_id)).one()
    return DeployView(
        d.id,
        d.name,
        d.api_break,
        d.description,
        d.status == "active",
        d.started_at,
        d.ended_at,
        d.starter_name,
        PersonRef(d.lead_id, d.lead_name) if d.lead_id is not None else None,
        d.environment,
    )
