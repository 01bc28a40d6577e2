"""What a digest is about and what it is made of: which deploy (the one named, under way,
or the latest), and every row of it read in one transaction for `figures.build`."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import aliased

from bot.commands import UserError
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.deploys.service import DeployService, DeployView
from plugins.digest.facts import (
    EventFacts,
    IncidentFacts,
    PageFacts,
    PolicyFacts,
    ReminderFacts,
    ResponderFacts,
    ShiftFacts,
    SidelineFacts,
)
from plugins.digest.figures import Digest, build
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.service import EventView
from plugins.metrics.change_reads import reading_changes
from plugins.metrics.changes import ChangeReport
from plugins.metrics.settings import failure_window
from plugins.models import (
    CatalogConsumer,
    DeployPlan,
    DutyShift,
    ExpectedResponder,
    Incident,
    IncidentEvent,
    Page,
    ReminderSent,
    RosterEntry,
)


class DigestService:
    def __init__(self, store: Store, window: Callable[[], timedelta]) -> None:
        self._store = store
        self._window = window  # metrics.failure_window, read when a digest is made

    @staticmethod
    def of(api: PluginAPI) -> DigestService:
        """The app's one DigestService."""
        return api.shared(_digest_service)

    async def collect(self, deploy: DeployView, now: datetime) -> Digest:
        """The digest of `deploy` as it stands at `now`."""
        changes = reading_changes(deploy.started_at, deploy.ended_at or now, self._window())

        def unit(conn: Connection) -> Digest:
            with _cycle_collection_paused():
                return _digest(conn, deploy, now, changes)

        return await self._store.read(unit)


def _digest(
    conn: Connection,
    deploy: DeployView,
    now: datetime,
    changes: Callable[[Connection], ChangeReport],
) -> Digest:
    end = deploy.ended_at or now
    incidents = _incidents(conn, deploy.id)
    events = _events(conn, deploy.id)
    shifts = _shifts(conn, deploy.started_at, end)
    owners = {i.owner_id for i in incidents if i.owner_id is not None}
    roster = _first_teams(conn, owners)
    policy = _policy(conn, deploy.id, incidents)
    sideline = _sideline(conn, deploy.id, deploy.started_at, end)
    digest = build(deploy, now, incidents, events, shifts, roster, policy, sideline)
    return replace(digest, change_failure=changes(conn))


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector paused while a digest's rows are read and figured: they are
    hundreds of thousands of tuples that form no cycles, and every full collection on the
    way walks all of them again (a third of a 10k-incident digest's time). Reference
    counting frees memory as always; collection resumes after, unless it was off."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


async def pick_deploy(deploys: DeployService, name: str | None) -> DeployView:
    """Which deploy a digest is about: the named one (most recent of that name), else the
    active one, else the most recent one."""
    if name:
        found = await deploys.by_name(name.lower())
        if found is None:
            raise UserError(f"no deploy named {name[:40]!r}")
        return found
    found = await deploys.active() or await deploys.latest()
    if found is None:
        raise UserError("no deploy yet, so nothing to digest")
    return found


def end_of_day_pick(
    active: DeployView | None, latest: DeployView | None, now: datetime, tz: tzinfo
) -> DeployView | None:
    """At the end of the day: the deploy under way, else one that ended today, else none."""
    if active is not None:
        return active
    ended = latest.ended_at if latest is not None else None
    if ended is not None and ended.astimezone(tz).date() == now.astimezone(tz).date():
        return latest
    return None


def _digest_service(api: PluginAPI) -> DigestService:
    return DigestService(api.store, lambda: failure_window(api.config))


def _incidents(conn: Connection, deploy_id: int) -> list[IncidentFacts]:
    owner = aliased(Person)
    rows = conn.execute(
        select(
            Incident.id,
            Incident.number,
            Incident.service,
            Incident.summary,
            Incident.severity,
            Incident.environment,
            Incident.status,
            Incident.owner_id,
            owner.name,
            Incident.created_at,
            Incident.consumer,
            Incident.consumer_known,
            Incident.staging_mixup,
            Incident.duplicate_of,
        )
        .outerjoin(owner, owner.id == Incident.owner_id)
        .where(Incident.deploy_id == deploy_id)
        .order_by(Incident.number)
    )
    return [IncidentFacts(*r[:6], _STATUS[r[6]], *r[7:]) for r in rows.all()]


def _events(conn: Connection, deploy_id: int) -> list[EventFacts]:
    """The events of the deploy's incidents, in time order: columns, not mapped objects (a
    busy deploy has tens of thousands), read row by row rather than all at once. People's
    names come from one read of the people table, so each is one shared string rather
    than a copy per event (as each network's name is)."""
    names: dict[int | None, str] = dict(conn.execute(select(Person.id, Person.name)).all())
    networks: dict[str, str] = {}
    e = IncidentEvent
    rows = conn.execute(
        select(
            e.incident_id,
            e.actor_id,
            e.target_id,
            e.at,
            e.kind,
            e.detail,
            e.severity,
            e.other_number,
            e.network,
        )
        .join(Incident, Incident.id == e.incident_id)
        .where(Incident.deploy_id == deploy_id)
        .order_by(e.at, e.id)
    )
    return [
        EventFacts(
            i,
            a,
            t,
            EventView(
                at,
                names.get(a),
                _ACTION[kind],
                detail,
                severity,
                names.get(t),
                other,
                net and networks.setdefault(net, net),
            ),
        )
        for i, a, t, at, kind, detail, severity, other, net in rows
    ]


_ACTION = {a.value: a for a in Action}  # a dict lookup: Action(value) is slow per event
_STATUS = {s.value: s for s in Status}


def _shifts(conn: Connection, start: datetime, end: datetime) -> list[ShiftFacts]:
    """Duty shifts that overlap [start, end), in the order people went on duty."""
    rows = conn.execute(
        select(DutyShift.person_id, Person.name, DutyShift.team, DutyShift.on_at, DutyShift.off_at)
        .join(Person, Person.id == DutyShift.person_id)
        .where(DutyShift.on_at < end, or_(DutyShift.off_at.is_(None), DutyShift.off_at > start))
        .order_by(DutyShift.on_at, DutyShift.id)
    )
    return [ShiftFacts(r.person_id, r.name, r.team, r.on_at, r.off_at) for r in rows.all()]


def _sideline(conn: Connection, deploy_id: int, start: datetime, end: datetime) -> SidelineFacts:
    """Pages sent while the deploy was under way, and reminders about its incidents (or
    that nobody was on duty) in that time, each in time order."""
    pages = conn.execute(
        select(Page.at, Person.name, Page.target, Page.message)
        .join(Person, Person.id == Page.by_id)
        .where(Page.at >= start, Page.at <= end)
        .order_by(Page.at, Page.id)
    )
    ours = select(Incident.id).where(Incident.deploy_id == deploy_id)
    reminders = conn.execute(
        select(ReminderSent.at, ReminderSent.incident_id, ReminderSent.kind)
        .where(
            ReminderSent.at >= start,
            ReminderSent.at <= end,
            or_(ReminderSent.incident_id.is_(None), ReminderSent.incident_id.in_(ours)),
        )
        .order_by(ReminderSent.at, ReminderSent.id)
    )
    return SidelineFacts(
        [PageFacts(*r) for r in pages.all()], [ReminderFacts(*r) for r in reminders.all()]
    )


def _first_teams(conn: Connection, people: Iterable[int]) -> dict[int, str]:
    """Each person's first roster team."""
    ids = set(people)
    if not ids:
        return {}
    rows = conn.execute(
        select(RosterEntry.person_id, RosterEntry.team)
        .where(RosterEntry.person_id.in_(ids))
        .order_by(RosterEntry.id.desc())
    )
    return dict(rows.all())  # descending: the first entry wins


def _policy(conn: Connection, deploy_id: int, incidents: Sequence[IncidentFacts]) -> PolicyFacts:
    plan = conn.execute(
        select(DeployPlan.id, DeployPlan.planned_for).where(DeployPlan.deploy_id == deploy_id)
    ).first()
    responders: list[ResponderFacts] = []
    if plan is not None:
        person = aliased(Person)
        responders = [
            ResponderFacts(name or team or "?", person_id, team, reminded_at)
            for person_id, team, reminded_at, name in conn.execute(
                select(
                    ExpectedResponder.person_id,
                    ExpectedResponder.team,
                    ExpectedResponder.reminded_at,
                    person.name,
                )
                .outerjoin(person, person.id == ExpectedResponder.person_id)
                .where(ExpectedResponder.plan_id == plan.id)
                .order_by(ExpectedResponder.id)
            )
        ]
    unknown = {(i.service, i.consumer) for i in incidents if i.consumer_known is False}
    added: dict[tuple[str, str], str] = {}
    if unknown:
        for service, consumer, by in conn.execute(
            select(CatalogConsumer.service, CatalogConsumer.consumer, Person.name)
            .join(Person, Person.id == CatalogConsumer.added_by)
            .where(CatalogConsumer.service.in_({service for service, _ in unknown}))
        ):
            if (service, consumer) in unknown:
                added[service, consumer] = by
    return PolicyFacts(plan.planned_for if plan else None, responders, added)
