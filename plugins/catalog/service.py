"""The service catalogue: what the config says about each service, merged with the
consumers found on the day and recorded with `!catalog add-consumer`. It also judges the
context of a new incident (is its consumer known? pointed at staging?) inside the
incident's own transaction, so the flags are stored with the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from bot.commands import UserError
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.catalog.settings import CatalogSettings
from plugins.common.checks import check_consumer, check_service, check_team
from plugins.incidents.judges import Flags
from plugins.models import CatalogConsumer, DeployPlan, Incident


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    team: str
    added_by: str | None = None  # None: listed in the config
    added_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    name: str
    criticality: str  # essential | leaf
    team: str | None
    consumers: list[Consumer]

    @property
    def teams(self) -> dict[str, list[str]]:
        """The consumers' teams, each with the consumers it answers for."""
        by_team: dict[str, list[str]] = {}
        for c in self.consumers:
            by_team.setdefault(c.team, []).append(c.name)
        return dict(sorted(by_team.items()))


@dataclass(frozen=True, slots=True)
class Hit:
    """A consumer named in incidents, with the numbers of those incidents."""

    consumer: str
    service: str
    numbers: tuple[int, ...]
    known: bool  # in the catalogue now


def staging_mixup(
    settings: CatalogSettings, environment: str | None, deploy_environment: str | None
) -> bool:
    """Reported on a staging environment while a production deploy is under way."""
    return (
        environment in settings.staging_environments
        and deploy_environment in settings.production_environments
    )


class CatalogService:
    def __init__(
        self, store: Store, settings: CatalogSettings, teams: Sequence[str], prefix: str
    ) -> None:
        self._store = store
        self.settings = settings
        self._teams = tuple(teams)
        self._p = prefix

    @staticmethod
    def of(api: PluginAPI) -> CatalogService:
        """The app's one CatalogService."""
        return api.shared(_catalog_service)

    async def entries(self) -> list[ServiceInfo]:
        """Every service of the config and every one with consumers found on the day."""
        added = await self._store.read(_added)
        names = sorted(set(self.settings.services) | {service for service, _ in added})
        return [self._info(name, added) for name in names]

    async def entry(self, name: str) -> ServiceInfo | None:
        """The catalogue's entry for the service `name`, if it has one."""
        added = await self._store.read(lambda c: _added(c, name))
        return self._entry(name, added)

    async def changed_by(self, deploy_id: int, deploy_name: str) -> ServiceInfo | None:
        """The entry of the service a deploy changes: its plan's service, else the service
        named like the deploy."""

        def unit(conn: Connection) -> tuple[str, dict[tuple[str, str], Consumer]]:
            planned = conn.scalar(
                select(DeployPlan.service).where(DeployPlan.deploy_id == deploy_id)
            )
            name = planned or deploy_name
            return name, _added(conn, name)

        name, added = await self._store.read(unit)
        return self._entry(name, added)

    def _entry(self, name: str, added: dict[tuple[str, str], Consumer]) -> ServiceInfo | None:
        """None for a service neither the config nor the day's additions know."""
        return self._info(name, added) if added or name in self.settings.services else None

    def _info(self, name: str, added: dict[tuple[str, str], Consumer]) -> ServiceInfo:
        entry = self.settings.services.get(name)
        consumers = [Consumer(c, t) for c, t in sorted(entry.consumers.items())] if entry else []
        consumers += [c for (service, _), c in sorted(added.items()) if service == name]
        return ServiceInfo(
            name,
            entry.criticality if entry else "essential",
            entry.team if entry else None,
            consumers,
        )

    async def check_planned(self, name: str) -> str:
        """A service a plan may name: any, while the catalogue is empty; else one in it."""
        service = check_service(name)
        known = [s.name for s in await self.entries()]
        if known and service not in known:
            listed = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
            raise UserError(f"{service} is not a service in the catalogue ({listed})")
        return service

    async def add_consumer(
        self, service: str, consumer: str, team: str | None, by: PersonRef, now: datetime
    ) -> Consumer:
        service, consumer = check_service(service), check_consumer(consumer)
        team = team or (consumer if consumer in self._teams else "")
        if not team:
            raise UserError(
                f"say which team to page for {consumer}: {self._p}catalog add-consumer "
                f"{service} {consumer} <team> ({', '.join(self._teams)})"
            )
        team = check_team(team, self._teams)
        entry = self.settings.services.get(service)
        if entry is not None and consumer in entry.consumers:
            raise UserError(
                f"{consumer} is already a known consumer of {service} (in the config, "
                f"team {entry.consumers[consumer]})"
            )

        def unit(conn: Connection) -> None:
            known = _added(conn, service).get((service, consumer))
            if known is not None:
                raise UserError(
                    f"{consumer} is already a known consumer of {service} (added by "
                    f"{known.added_by}, team {known.team})"
                )
            conn.execute(
                insert(CatalogConsumer).values(
                    service=service, consumer=consumer, team=team, added_by=by.id, added_at=now
                )
            )

        try:
            await self._store.write(unit)
        except IntegrityError:
            raise UserError(f"{consumer} was just added to {service} by someone else") from None
        return Consumer(consumer, team, by.name, now)

    async def hits(self, since: datetime) -> list[Hit]:
        """Consumers named in incidents reported since `since`, judged by the catalogue
        as it is now: unknown ones first, then by name."""
        named = (
            select(Incident.consumer, Incident.service, Incident.number)
            .where(Incident.consumer.is_not(None), Incident.created_at >= since)
            .order_by(Incident.number)
        )
        rows, added = await self._store.read(lambda c: (c.execute(named).all(), _added(c)))
        numbers: dict[tuple[str, str], list[int]] = {}
        for consumer, service, number in rows:
            numbers.setdefault((consumer, service), []).append(number)
        hits = [
            Hit(consumer, service, tuple(ns), self._known(service, consumer, added))
            for (consumer, service), ns in numbers.items()
        ]
        return sorted(hits, key=lambda h: (h.known, h.consumer, h.service))

    def _known(self, service: str, consumer: str, added: dict[tuple[str, str], Consumer]) -> bool:
        entry = self.settings.services.get(service)
        return (entry is not None and consumer in entry.consumers) or (service, consumer) in added

    def judge(
        self,
        conn: Connection,
        service: str,
        consumer: str | None,
        environment: str | None,
        deploy_environment: str | None,
    ) -> Flags:
        """The context flags of a report, read in the reporting unit of work."""
        known = None
        if consumer is not None:
            known = self._known(service, consumer, _added(conn, service))
        return Flags(known, staging_mixup(self.settings, environment, deploy_environment))


def _catalog_service(api: PluginAPI) -> CatalogService:
    return CatalogService(
        api.store,
        api.config.section("catalog", CatalogSettings),
        api.config.teams,
        api.config.prefix,
    )


def _added(conn: Connection, service: str | None = None) -> dict[tuple[str, str], Consumer]:
    stmt = select(
        CatalogConsumer.service,
        CatalogConsumer.consumer,
        CatalogConsumer.team,
        CatalogConsumer.added_at,
        Person.name,
    ).join(Person, Person.id == CatalogConsumer.added_by)
    if service is not None:
        stmt = stmt.where(CatalogConsumer.service == service)
    return {
        (svc, consumer): Consumer(consumer, team, by, at)
        for svc, consumer, team, at, by in conn.execute(stmt.order_by(CatalogConsumer.id))
    }
