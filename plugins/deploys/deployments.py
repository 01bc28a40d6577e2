"""Deployments: a service deployed somewhere (version, environment, who), as the pipeline
reports it, on a deploy day or any other day. Change-failure figures count them; the chat
hears of each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, insert, select

from bot.messages import Reply, bold, text
from bot.plugin import PluginAPI
from bot.store import Store
from bot.store.workers import Unit, writing
from plugins.common.checks import check_environment, check_service, check_version, check_who
from plugins.models import Deploy, Deployment

SOURCES = ("http", "cli")


@dataclass(frozen=True, slots=True)
class DeploymentView:
    id: int
    service: str
    version: str | None
    environment: str | None
    who: str | None
    at: datetime
    deploy: str | None  # the deploy day under way when it was recorded
    source: str


class DeploymentService:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def of(api: PluginAPI) -> DeploymentService:
        """The app's one DeploymentService."""
        return api.shared(_deployment_service)

    def recording(
        self,
        service: str,
        version: str | None,
        environment: str | None,
        who: str | None,
        at: datetime,
        source: str,
    ) -> Unit[DeploymentView]:
        """Record one (`record`), its input checked (a UserError if not); it belongs to
        the deploy day under way, if any."""
        if source not in SOURCES:
            raise ValueError(f"unknown deployment source {source!r}")
        row = {
            "service": check_service(service),
            "version": check_version(version) if version is not None else None,
            "environment": check_environment(environment) if environment is not None else None,
            "who": check_who(who) if who is not None else None,
            "at": at,
            "source": source,
        }

        def unit(conn: Connection) -> DeploymentView:
            active = conn.execute(select(Deploy.id, Deploy.name).where(Deploy.status == "active"))
            deploy_id, deploy_name = active.first() or (None, None)
            new_id = conn.execute(
                insert(Deployment).returning(Deployment.id), {**row, "deploy_id": deploy_id}
            ).scalar_one()
            return DeploymentView(
                new_id,
                row["service"],
                row["version"],
                row["environment"],
                row["who"],
                at,
                deploy_name,
                source,
            )

        return unit

    record = writing(recording)

    async def get(self, deployment_id: int) -> DeploymentView | None:
        stmt = _VIEW.where(Deployment.id == deployment_id)
        row = await self._store.read(lambda c: c.execute(stmt).first())
        return None if row is None else DeploymentView(*row)

    async def between(
        self, since: datetime, until: datetime, service: str | None = None
    ) -> list[DeploymentView]:
        """Those recorded at `since` or later and before `until`, oldest first."""
        stmt = _VIEW.where(Deployment.at >= since, Deployment.at < until)
        if service is not None:
            stmt = stmt.where(Deployment.service == service)
        stmt = stmt.order_by(Deployment.at, Deployment.id)
        rows = await self._store.read(lambda c: c.execute(stmt).all())
        return [DeploymentView(*r) for r in rows]


def deployed(d: DeploymentView) -> Reply:
    """The announcement of a deployment."""
    what = f" {d.version}" if d.version else ""
    where = f" to {d.environment}" if d.environment else ""
    who = f" by {d.who}" if d.who else ""
    day = f" (deploy {d.deploy})" if d.deploy else ""
    return Reply.of([text("Deployed: "), bold(d.service), text(f"{what}{where}{who}{day}")])


def _deployment_service(api: PluginAPI) -> DeploymentService:
    return DeploymentService(api.store)


_VIEW: Select[tuple[int, str, str | None, str | None, str | None, datetime, str | None, str]] = (
    select(
        Deployment.id,
        Deployment.service,
        Deployment.version,
        Deployment.environment,
        Deployment.who,
        Deployment.at,
        Deploy.name,
        Deployment.source,
    ).outerjoin(Deploy, Deploy.id == Deployment.deploy_id)
)
