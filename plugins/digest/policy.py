"""What a planned deploy and the catalogue add to the digest: expected responders and
when they were reached, consumers nobody knew, reports pointed at staging."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from plugins.digest.facts import EventFacts, IncidentFacts, PolicyFacts, ResponderFacts, ShiftFacts
from plugins.incidents.lifecycle import Action, Status


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


def _reporter(events: Sequence[EventFacts]) -> str | None:
    return next((e.view.actor for e in events if e.view.kind is Action.REPORT), None)


def unknown_consumers(
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


def staging_mixups(
    incidents: Sequence[IncidentFacts],
    ttrs: Sequence[timedelta | None],
    events: dict[int, list[EventFacts]],
) -> list[StagingMixup]:
    """The incidents flagged as reported on staging during a production deploy; `ttrs`
    are their times to repair, in the order of `incidents`."""
    return [
        StagingMixup(
            i.number,
            i.service,
            i.environment,
            i.consumer,
            i.reported_at,
            _reporter(events[i.id]),
            i.status,
            ttr,
        )
        for i, ttr in zip(incidents, ttrs, strict=True)
        if i.staging_mixup
    ]


def reach(r: ResponderFacts, shifts: Sequence[ShiftFacts], start: datetime, end: datetime) -> Reach:
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
