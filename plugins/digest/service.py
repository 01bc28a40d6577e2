"""The postmortem digest of one deploy, as plain data: the service reads the rows, and
`build` (pure, unit-tested) turns them into the figures.

Definitions (also in README):
- the deploy's incidents are those reported while it was under way;
- TTA / TTR as metrics.stats defines them, from the event log;
- an incident's team is the team its current owner was on duty for when they became the
  owner (the duty shift open at their take / assign); if they were not on duty then, their
  first roster team; incidents nobody owns are grouped as "unowned";
- on-duty time is the part of each duty shift inside the deploy (start to end, or to now
  while it is under way);
- owned counts incidents a person owns now; fixed counts incidents now fixed whose
  standing fix they made;
- unknown consumers are those an incident named (`--consumer`) that the catalogue did not
  list for its service when it was reported; staging mix-ups are incidents flagged as
  reported on staging during a production deploy (both stored with the report);
- an expected responder was reached when they (a team: anyone of it) were first on duty
  inside the deploy: from the start if they were on duty already.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.deploys.service import DeployView
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.service import EventView
from plugins.metrics.stats import Stats, Summary, Timeline, stats, summarize
from plugins.models import (
    CatalogConsumer,
    DeployPlan,
    DutyShift,
    ExpectedResponder,
    Incident,
    IncidentEvent,
    RosterEntry,
)

UNOWNED = "unowned"
NO_TEAM = "no team"


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """One incident's row as the service read it."""

    id: int
    number: int
    service: str
    summary: str
    severity: int
    environment: str | None
    status: Status
    owner_id: int | None
    owner: str | None
    reported_at: datetime
    consumer: str | None = None
    consumer_known: bool | None = None
    staging_mixup: bool = False


@dataclass(frozen=True, slots=True)
class ResponderFacts:
    label: str
    person_id: int | None
    team: str | None
    reminded_at: datetime | None


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What the deploy's plan and the catalogue add to the digest."""

    planned_for: datetime | None = None
    responders: Sequence[ResponderFacts] = ()
    # consumers recorded in the catalogue since: (service, consumer) -> who added it
    added: Mapping[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventFacts:
    incident_id: int
    actor_id: int | None
    target_id: int | None
    view: EventView


@dataclass(frozen=True, slots=True)
class ShiftFacts:
    person_id: int
    name: str
    team: str
    on_at: datetime
    off_at: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    number: int
    service: str
    summary: str
    severity: int
    environment: str | None
    status: Status
    owner: str | None
    team: str
    reported_at: datetime
    tta: timedelta | None
    ttr: timedelta | None
    age: timedelta | None  # still open: how long since the report


@dataclass(frozen=True, slots=True)
class Group:
    label: str
    incidents: int
    tta: Stats
    ttr: Stats


@dataclass(frozen=True, slots=True)
class Helper:
    name: str
    teams: tuple[str, ...]
    on_duty: timedelta
    owned: int
    fixed: int


@dataclass(frozen=True, slots=True)
class ServiceImpact:
    service: str
    incidents: int
    open: int
    worst_severity: int
    repair_time: timedelta | None  # sum of the TTRs of its fixed incidents


@dataclass(frozen=True, slots=True)
class FollowUp:
    number: int
    service: str
    text: str
    by: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    number: int | None  # None for the deploy's own start and end
    service: str | None
    event: EventView | None


@dataclass(frozen=True, slots=True)
class UnknownConsumer:
    consumer: str
    service: str
    numbers: tuple[int, ...]
    first_reported: datetime
    reporter: str | None
    added_by: str | None  # recorded in the catalogue since, by whom


@dataclass(frozen=True, slots=True)
class StagingMixup:
    number: int
    service: str
    environment: str | None
    consumer: str | None
    reported_at: datetime
    reporter: str | None
    status: Status
    ttr: timedelta | None


@dataclass(frozen=True, slots=True)
class Reach:
    """An expected responder: when first on duty inside the deploy (None: never), `by`
    whom (for a team) or for which team (for a person), and when reminded."""

    label: str
    reached_at: datetime | None
    by: str | None
    reminded_at: datetime | None


@dataclass(frozen=True, slots=True)
class Digest:
    deploy: DeployView
    as_of: datetime
    summary: Summary
    incidents: list[IncidentRow]
    by_service: list[Group]
    by_team: list[Group]
    still_open: list[IncidentRow]
    helpers: list[Helper]
    services: list[ServiceImpact]
    followups: list[FollowUp]
    timeline: list[TimelineEntry]
    planned_for: datetime | None = None
    unknown_consumers: list[UnknownConsumer] = field(default_factory=list)
    staging_mixups: list[StagingMixup] = field(default_factory=list)
    responders: list[Reach] = field(default_factory=list)


class DigestService:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def of(api: PluginAPI) -> DigestService:
        """The app's one DigestService."""
        return api.shared(_digest_service)

    async def collect(self, deploy: DeployView, now: datetime) -> Digest:
        actor, target = aliased(Person), aliased(Person)
        owner = aliased(Person)
        end = deploy.ended_at or now
        async with self._store.read() as s:
            incidents = [
                IncidentFacts(
                    i.id,
                    i.number,
                    i.service,
                    i.summary,
                    i.severity,
                    i.environment,
                    Status(i.status),
                    i.owner_id,
                    owner_name,
                    i.created_at,
                    i.consumer,
                    i.consumer_known,
                    i.staging_mixup,
                )
                for i, owner_name in (
                    await s.execute(
                        select(Incident, owner.name)
                        .outerjoin(owner, owner.id == Incident.owner_id)
                        .where(Incident.deploy_id == deploy.id)
                        .order_by(Incident.number)
                    )
                ).all()
            ]
            events = [
                EventFacts(
                    e.incident_id,
                    e.actor_id,
                    e.target_id,
                    EventView(
                        e.at,
                        a,
                        Action(e.kind),
                        e.detail,
                        e.severity,
                        t,
                        e.other_number,
                        e.network,
                    ),
                )
                for e, a, t in (
                    await s.execute(
                        select(IncidentEvent, actor.name, target.name)
                        .join(Incident, Incident.id == IncidentEvent.incident_id)
                        .outerjoin(actor, actor.id == IncidentEvent.actor_id)
                        .outerjoin(target, target.id == IncidentEvent.target_id)
                        .where(Incident.deploy_id == deploy.id)
                        .order_by(IncidentEvent.at, IncidentEvent.id)
                    )
                ).all()
            ]
            shifts = [
                ShiftFacts(r.person_id, r.name, r.team, r.on_at, r.off_at)
                for r in (
                    await s.execute(
                        select(
                            DutyShift.person_id,
                            Person.name,
                            DutyShift.team,
                            DutyShift.on_at,
                            DutyShift.off_at,
                        )
                        .join(Person, Person.id == DutyShift.person_id)
                        .where(
                            DutyShift.on_at < end,
                            or_(DutyShift.off_at.is_(None), DutyShift.off_at > deploy.started_at),
                        )
                        .order_by(DutyShift.on_at, DutyShift.id)
                    )
                ).all()
            ]
            owner_ids = {i.owner_id for i in incidents if i.owner_id is not None}
            roster: dict[int, str] = {}
            if owner_ids:
                for person_id, team in (
                    await s.execute(
                        select(RosterEntry.person_id, RosterEntry.team)
                        .where(RosterEntry.person_id.in_(owner_ids))
                        .order_by(RosterEntry.id.desc())
                    )
                ).all():
                    roster[person_id] = team  # descending: the first entry wins
            policy = await _policy(s, deploy.id, incidents)
        return build(deploy, now, incidents, events, shifts, roster, policy)


def _digest_service(api: PluginAPI) -> DigestService:
    return DigestService(api.store)


async def _policy(
    s: AsyncSession, deploy_id: int, incidents: Sequence[IncidentFacts]
) -> PolicyFacts:
    plan = (
        await s.execute(
            select(DeployPlan.id, DeployPlan.planned_for).where(DeployPlan.deploy_id == deploy_id)
        )
    ).first()
    responders: list[ResponderFacts] = []
    if plan is not None:
        person = aliased(Person)
        responders = [
            ResponderFacts(name or r.team or "?", r.person_id, r.team, r.reminded_at)
            for r, name in (
                await s.execute(
                    select(ExpectedResponder, person.name)
                    .outerjoin(person, person.id == ExpectedResponder.person_id)
                    .where(ExpectedResponder.plan_id == plan.id)
                    .order_by(ExpectedResponder.id)
                )
            ).all()
        ]
    unknown = {(i.service, i.consumer) for i in incidents if i.consumer_known is False}
    added: dict[tuple[str, str], str] = {}
    if unknown:
        for service, consumer, by in (
            await s.execute(
                select(CatalogConsumer.service, CatalogConsumer.consumer, Person.name)
                .join(Person, Person.id == CatalogConsumer.added_by)
                .where(CatalogConsumer.service.in_({service for service, _ in unknown}))
            )
        ).all():
            if (service, consumer) in unknown:
                added[service, consumer] = by
    return PolicyFacts(plan.planned_for if plan else None, responders, added)


def build(
    deploy: DeployView,
    as_of: datetime,
    incidents: Sequence[IncidentFacts],
    events: Sequence[EventFacts],
    shifts: Sequence[ShiftFacts],
    roster_team: dict[int, str],
    policy: PolicyFacts | None = None,
) -> Digest:
    """Every figure of the digest from the rows; `events` in time order."""
    policy = policy or PolicyFacts()
    by_incident: dict[int, list[EventFacts]] = defaultdict(list)
    for e in events:
        by_incident[e.incident_id].append(e)
    number_of = {i.id: i for i in incidents}
    window_end = deploy.ended_at or as_of

    def team_of(i: IncidentFacts) -> str:
        if i.owner_id is None:
            return UNOWNED
        became = _became_owner_at(by_incident[i.id], i.owner_id)
        if became is not None:
            for sh in shifts:
                if (
                    sh.person_id == i.owner_id
                    and sh.on_at <= became
                    and (sh.off_at is None or became < sh.off_at)
                ):
                    return sh.team
        return roster_team.get(i.owner_id, NO_TEAM)

    timelines: list[Timeline] = []
    rows: list[IncidentRow] = []
    for i in incidents:
        evs = ((e.view.kind, e.view.at) for e in by_incident[i.id])
        t = Timeline.of_events(i.number, i.service, i.status, i.reported_at, evs, i.owner)
        timelines.append(t)
        rows.append(
            IncidentRow(
                i.number,
                i.service,
                i.summary,
                i.severity,
                i.environment,
                i.status,
                i.owner,
                team_of(i),
                i.reported_at,
                t.tta,
                t.ttr,
                as_of - i.reported_at if i.status.is_open else None,
            )
        )

    return Digest(
        deploy=deploy,
        as_of=as_of,
        summary=summarize(timelines),
        incidents=rows,
        by_service=_groups(rows, lambda r: r.service),
        by_team=_groups(rows, lambda r: r.team),
        still_open=[r for r in rows if r.status.is_open],
        helpers=_helpers(incidents, by_incident, shifts, deploy.started_at, window_end),
        services=_impact(rows),
        followups=[
            FollowUp(
                number_of[e.incident_id].number,
                number_of[e.incident_id].service,
                e.view.detail or "",
                e.view.actor,
                e.view.at,
            )
            for e in events
            if e.view.kind is Action.FOLLOWUP
        ],
        timeline=_timeline(deploy, events, number_of),
        planned_for=policy.planned_for,
        unknown_consumers=_unknown_consumers(incidents, by_incident, policy),
        staging_mixups=[
            StagingMixup(
                i.number,
                i.service,
                i.environment,
                i.consumer,
                i.reported_at,
                _reporter(by_incident[i.id]),
                i.status,
                row.ttr,
            )
            for i, row in zip(incidents, rows, strict=True)
            if i.staging_mixup
        ],
        responders=[_reach(r, shifts, deploy.started_at, window_end) for r in policy.responders],
    )


def _reporter(events: Sequence[EventFacts]) -> str | None:
    return next((e.view.actor for e in events if e.view.kind is Action.REPORT), None)


def _unknown_consumers(
    incidents: Sequence[IncidentFacts],
    events: dict[int, list[EventFacts]],
    policy: PolicyFacts,
) -> list[UnknownConsumer]:
    """One row per consumer and service, in the order they were first reported."""
    grouped: dict[tuple[str, str], list[IncidentFacts]] = defaultdict(list)
    for i in incidents:
        if i.consumer_known is False and i.consumer is not None:
            grouped[i.service, i.consumer].append(i)
    return [
        UnknownConsumer(
            consumer,
            service,
            tuple(i.number for i in found),
            found[0].reported_at,
            _reporter(events[found[0].id]),
            policy.added.get((service, consumer)),
        )
        for (service, consumer), found in grouped.items()
    ]


def _reach(
    r: ResponderFacts, shifts: Sequence[ShiftFacts], start: datetime, end: datetime
) -> Reach:
    for sh in shifts:  # in the order they went on duty
        mine = sh.person_id == r.person_id if r.person_id is not None else sh.team == r.team
        if mine and sh.on_at < end and (sh.off_at is None or sh.off_at > start):
            return Reach(
                r.label,
                max(sh.on_at, start),
                sh.team if r.person_id is not None else sh.name,
                r.reminded_at,
            )
    return Reach(r.label, None, None, r.reminded_at)


def _became_owner_at(events: Iterable[EventFacts], owner_id: int) -> datetime | None:
    """When the current owner got the incident: their last take, or assignment to them."""
    at = None
    for e in events:
        if (e.view.kind is Action.TAKE and e.actor_id == owner_id) or (
            e.view.kind is Action.ASSIGN and e.target_id == owner_id
        ):
            at = e.view.at
    return at


def _groups(rows: Sequence[IncidentRow], key: Callable[[IncidentRow], str]) -> list[Group]:
    grouped: dict[str, list[IncidentRow]] = defaultdict(list)
    for r in rows:
        grouped[key(r)].append(r)
    return [
        Group(
            label,
            len(members),
            stats(r.tta for r in members if r.tta is not None),
            stats(r.ttr for r in members if r.ttr is not None),
        )
        for label, members in sorted(grouped.items())
    ]


def _helpers(
    incidents: Sequence[IncidentFacts],
    events: dict[int, list[EventFacts]],
    shifts: Sequence[ShiftFacts],
    start: datetime,
    end: datetime,
) -> list[Helper]:
    names: dict[int, str] = {}
    on_duty: dict[int, timedelta] = defaultdict(timedelta)
    teams: dict[int, list[str]] = defaultdict(list)
    for sh in shifts:
        names[sh.person_id] = sh.name
        overlap = min(sh.off_at or end, end) - max(sh.on_at, start)
        if overlap > timedelta(0):
            on_duty[sh.person_id] += overlap
        if sh.team not in teams[sh.person_id]:
            teams[sh.person_id].append(sh.team)
    owned: Counter[int] = Counter()
    fixed: Counter[int] = Counter()
    for i in incidents:
        if i.owner_id is not None:
            owned[i.owner_id] += 1
            names.setdefault(i.owner_id, i.owner or "?")
        fixes = [e for e in events[i.id] if e.view.kind is Action.FIX]
        if i.status is Status.FIXED and fixes and fixes[-1].actor_id is not None:
            fixed[fixes[-1].actor_id] += 1
            names.setdefault(fixes[-1].actor_id, fixes[-1].view.actor or "?")
    people = [p for p in names if on_duty.get(p) or owned[p] or fixed[p]]
    helpers = [
        Helper(names[p], tuple(teams[p]), on_duty.get(p, timedelta(0)), owned[p], fixed[p])
        for p in people
    ]
    return sorted(helpers, key=lambda h: (-h.on_duty, -h.fixed, -h.owned, h.name.lower()))


def _impact(rows: Sequence[IncidentRow]) -> list[ServiceImpact]:
    grouped: dict[str, list[IncidentRow]] = defaultdict(list)
    for r in rows:
        grouped[r.service].append(r)
    impact = [
        ServiceImpact(
            service,
            len(members),
            sum(1 for r in members if r.status.is_open),
            min(r.severity for r in members),
            _total([r.ttr for r in members if r.ttr is not None]),
        )
        for service, members in grouped.items()
    ]
    return sorted(impact, key=lambda s: (-s.incidents, -s.open, s.worst_severity, s.service))


def _total(durations: list[timedelta]) -> timedelta | None:
    return sum(durations, timedelta(0)) if durations else None


def _timeline(
    deploy: DeployView, events: Sequence[EventFacts], incidents: dict[int, IncidentFacts]
) -> list[TimelineEntry]:
    entries = [TimelineEntry(deploy.started_at, None, None, None)]
    entries += [
        TimelineEntry(
            e.view.at, incidents[e.incident_id].number, incidents[e.incident_id].service, e.view
        )
        for e in events
    ]
    if deploy.ended_at is not None:
        entries.append(TimelineEntry(deploy.ended_at, None, None, None))
    return entries
