"""The postmortem digest of one deploy, as plain data: `build` (pure, unit-tested) turns
the rows the service read (`facts`) into every figure the formats show.

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
  inside the deploy: from the start if they were on duty already;
- a duplicate is listed under the incident it duplicates and counts in no figure (nor in
  who owned or fixed what): its original is the incident.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from plugins.deploys.service import DeployView
from plugins.digest.facts import (
    EventFacts,
    IncidentFacts,
    PolicyFacts,
    ShiftFacts,
    SidelineFacts,
)
from plugins.digest.outcomes import counted, nested, resolution
from plugins.digest.policy import (
    Reach,
    StagingMixup,
    UnknownConsumer,
    reach,
    staging_mixups,
    unknown_consumers,
)
from plugins.digest.timeline import TimelineEntry, timeline
from plugins.incidents.lifecycle import Action, Status
from plugins.metrics.stats import Stats, Summary, Timeline, stats, summarize

UNOWNED = "unowned"
NO_TEAM = "no team"


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
    resolution: str
    duplicate_of: int | None  # a duplicate: its original's number


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

    @property
    def duplicates(self) -> int:
        """Incidents listed under their original and left out of every figure."""
        return sum(1 for r in self.incidents if r.status is Status.DUPLICATE)


def build(
    deploy: DeployView,
    as_of: datetime,
    incidents: Sequence[IncidentFacts],
    events: Sequence[EventFacts],
    shifts: Sequence[ShiftFacts],
    roster_team: dict[int, str],
    policy: PolicyFacts | None = None,
    sideline: SidelineFacts | None = None,
) -> Digest:
    """Every figure of the digest from the rows; `events` in time order."""
    policy = policy or PolicyFacts()
    sideline = sideline or SidelineFacts()
    by_incident: dict[int, list[EventFacts]] = defaultdict(list)
    for e in events:
        by_incident[e.incident_id].append(e)
    number_of = {i.id: i for i in incidents}
    window_end = deploy.ended_at or as_of
    timelines = [
        Timeline.of_events(
            i.number,
            i.service,
            i.status,
            i.reported_at,
            ((e.view.kind, e.view.at) for e in by_incident[i.id]),
            i.owner,
        )
        for i in incidents
    ]
    rows = [
        _row(i, t, _team_of(i, by_incident[i.id], shifts, roster_team), as_of, by_incident[i.id])
        for i, t in zip(incidents, timelines, strict=True)
    ]
    figured = [r for r in rows if r.status is not Status.DUPLICATE]
    return Digest(
        deploy=deploy,
        as_of=as_of,
        summary=summarize(t for i, t in zip(incidents, timelines, strict=True) if counted(i)),
        incidents=nested(rows, lambda r: r.number, lambda r: r.duplicate_of),
        by_service=_groups(figured, lambda r: r.service),
        by_team=_groups(figured, lambda r: r.team),
        still_open=[r for r in rows if r.status.is_open],
        helpers=_helpers(
            [i for i in incidents if counted(i)],
            by_incident,
            shifts,
            deploy.started_at,
            window_end,
        ),
        services=_impact(figured),
        followups=_followups(events, number_of),
        timeline=timeline(deploy, events, number_of, shifts, sideline, window_end),
        planned_for=policy.planned_for,
        unknown_consumers=unknown_consumers(incidents, by_incident, policy),
        staging_mixups=staging_mixups(incidents, [r.ttr for r in rows], by_incident),
        responders=[reach(r, shifts, deploy.started_at, window_end) for r in policy.responders],
    )


def _row(
    i: IncidentFacts, t: Timeline, team: str, as_of: datetime, events: Sequence[EventFacts]
) -> IncidentRow:
    return IncidentRow(
        i.number,
        i.service,
        i.summary,
        i.severity,
        i.environment,
        i.status,
        i.owner,
        team,
        i.reported_at,
        t.tta,
        t.ttr,
        as_of - i.reported_at if i.status.is_open else None,
        resolution(i, events),
        None if counted(i) else i.duplicate_of,
    )


def _team_of(
    i: IncidentFacts,
    events: Sequence[EventFacts],
    shifts: Sequence[ShiftFacts],
    roster_team: dict[int, str],
) -> str:
    """The team its owner was on duty for when they became the owner, else their first
    roster team."""
    if i.owner_id is None:
        return UNOWNED
    became = _became_owner_at(events, i.owner_id)
    if became is not None:
        for sh in shifts:
            if (
                sh.person_id == i.owner_id
                and sh.on_at <= became
                and (sh.off_at is None or became < sh.off_at)
            ):
                return sh.team
    return roster_team.get(i.owner_id, NO_TEAM)


def _followups(events: Sequence[EventFacts], incidents: dict[int, IncidentFacts]) -> list[FollowUp]:
    return [
        FollowUp(
            incidents[e.incident_id].number,
            incidents[e.incident_id].service,
            e.view.detail or "",
            e.view.actor,
            e.view.at,
        )
        for e in events
        if e.view.kind is Action.FOLLOWUP
    ]


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
