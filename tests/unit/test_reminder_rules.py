"""Which reminder is due when: exact times, one kind at a time, one per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from plugins.incidents.lifecycle import Status
from plugins.reminders.rules import (
    Intervals,
    Kind,
    OpenIncident,
    Policy,
    due,
    kind_of,
    nobody_notice_due,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def minutes(*values: int) -> Intervals:
    return Intervals(
        {sev: timedelta(minutes=m) for sev, m in zip((1, 2, 3, 4), values, strict=True)}
    )


POLICY = Policy(
    unowned_after=minutes(5, 10, 20, 60),
    idle_after=minutes(15, 30, 45, 120),
    stale_after=minutes(20, 30, 60, 180),
    nobody_every=timedelta(minutes=30),
)


def t(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def incident(
    number: int = 1,
    *,
    severity: int = 3,
    status: Status = Status.OPEN,
    owner: int | None = None,
    reported: float = 0,
    active: float | None = None,
    sent: dict[Kind, datetime] | None = None,
) -> OpenIncident:
    return OpenIncident(
        id=number * 10,
        number=number,
        service="pkgdb",
        severity=severity,
        summary="down",
        status=status,
        owner_id=owner,
        owner="bob" if owner else None,
        reported_at=t(reported),
        last_activity=t(reported if active is None else active),
        last_sent=sent or {},
    )


def test_one_kind_at_a_time() -> None:
    assert kind_of(incident()) is Kind.UNOWNED
    assert kind_of(incident(status=Status.ACKNOWLEDGED)) is Kind.IDLE
    assert kind_of(incident(status=Status.ACKNOWLEDGED, owner=7)) is Kind.STALE


def test_unowned_after_its_severitys_interval_counted_from_the_report() -> None:
    sev3 = incident(severity=3, reported=0, active=15)  # a note at 15 does not reset it
    assert due([sev3], POLICY, t(19.99)) == []
    [d] = due([sev3], POLICY, t(20))
    assert (d.kind, d.waiting) == (Kind.UNOWNED, timedelta(minutes=20))
    sev1 = incident(2, severity=1, reported=0)
    assert [x.incident.number for x in due([sev1], POLICY, t(5))] == [2]


def test_one_per_incident_per_interval() -> None:
    sent_at_20 = incident(sent={Kind.UNOWNED: t(20)})
    assert due([sent_at_20], POLICY, t(39)) == []
    [again] = due([sent_at_20], POLICY, t(40))
    assert again.waiting == timedelta(minutes=40)
    # a reminder of another kind does not hold this one back
    assert len(due([incident(sent={Kind.STALE: t(19)})], POLICY, t(20))) == 1


def test_idle_and_stale_count_from_the_last_update() -> None:
    acked = incident(status=Status.ACKNOWLEDGED, reported=0, active=10)
    assert due([acked], POLICY, t(54)) == []
    [d] = due([acked], POLICY, t(55))
    assert (d.kind, d.waiting) == (Kind.IDLE, timedelta(minutes=45))

    owned = incident(status=Status.ACKNOWLEDGED, owner=7, severity=2, active=30)
    assert due([owned], POLICY, t(59)) == []
    [d] = due([owned], POLICY, t(60))
    assert (d.kind, d.waiting) == (Kind.STALE, timedelta(minutes=30))
    # pinged at 60, then an update at 70: the next ping is 30 minutes after the update
    pinged = incident(
        status=Status.ACKNOWLEDGED, owner=7, severity=2, active=70, sent={Kind.STALE: t(60)}
    )
    assert due([pinged], POLICY, t(99)) == []
    assert len(due([pinged], POLICY, t(100))) == 1


def test_worst_first_and_closed_ones_never() -> None:
    found = due(
        [
            incident(1, severity=3),
            incident(2, severity=1),
            incident(3, severity=3, status=Status.FIXED),
            incident(4, severity=1),
        ],
        POLICY,
        t(60),
    )
    assert [d.incident.number for d in found] == [2, 4, 1]


def test_nobody_on_duty_notice_at_most_once_per_its_interval() -> None:
    assert nobody_notice_due(None, POLICY, t(0))
    assert not nobody_notice_due(t(0), POLICY, t(29))
    assert nobody_notice_due(t(0), POLICY, t(30))
