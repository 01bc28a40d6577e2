"""Change-failure figures from scripted histories, with exact figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.commands import UserError
from plugins.common.when import parse_since
from plugins.incidents.lifecycle import Status
from plugins.metrics.change_views import change_json, change_section, render_stats
from plugins.metrics.changes import Change, ChangeReport, Reported, change_report
from plugins.metrics.stats import Timeline

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD_END = T0 + timedelta(days=30)
WINDOW = timedelta(hours=24)
PRAGUE = ZoneInfo("Europe/Prague")


def day(n: int, hour: float = 0) -> datetime:
    return T0 + timedelta(days=n, hours=hour)


def incident(
    number: int,
    service: str,
    reported: datetime,
    fixed_after: timedelta | None = None,
    status: Status | None = None,
    deploy_id: int | None = None,
) -> Reported:
    fixed = reported + fixed_after if fixed_after is not None else None
    chosen = status or (Status.FIXED if fixed else Status.OPEN)
    return Reported(Timeline(number, service, chosen, reported, None, fixed), deploy_id)


# 3 services, 10 deployments in November (30 days)
DEPLOYMENTS = [
    Change(day(1, 10), "pkgdb"),
    Change(day(5, 10), "pkgdb"),
    Change(day(10, 10), "pkgdb"),
    Change(day(20, 10), "pkgdb"),
    Change(day(2, 9), "fas"),
    Change(day(12, 9), "fas"),
    Change(day(25, 9), "fas"),
    Change(day(3, 8), "koji"),
    Change(day(15, 8), "koji"),
    Change(day(28, 8), "koji"),
]
# 5 incidents: 2 follow a deployment of their service within 24h, 1 comes 26h after one
# (outside the window), 1 is of another service, 1 is a duplicate
INCIDENTS = [
    incident(1, "pkgdb", day(1, 12), timedelta(minutes=90)),
    incident(2, "fas", day(12, 10), timedelta(minutes=30)),
    incident(3, "pkgdb", day(6, 12), timedelta(minutes=10)),
    incident(4, "docs", day(10, 11), timedelta(minutes=10)),
    incident(5, "pkgdb", day(1, 12.1), status=Status.DUPLICATE),
]


def report() -> ChangeReport:
    return change_report(DEPLOYMENTS, INCIDENTS, T0, PERIOD_END, WINDOW)


def test_the_scripted_month_has_exact_figures() -> None:
    r = report()
    all_ = r.overall
    assert (all_.changes, all_.failed, all_.rate, all_.incidents) == (10, 2, 0.2, (1, 2))
    assert (all_.restore.count, all_.restore.median, all_.restore.mean) == (
        2,
        timedelta(hours=1),
        timedelta(hours=1),
    )
    assert all_.unrestored == 0
    assert (r.days, r.per_day(all_), r.per_week(all_)) == (
        30.0,
        pytest.approx(1 / 3),
        pytest.approx(7 / 3),
    )
    by_service = {f.label: (f.changes, f.failed, f.incidents, f.restore.median) for f in r.services}
    assert by_service == {
        "pkgdb": (4, 1, (1,), timedelta(minutes=90)),
        "fas": (3, 1, (2,), timedelta(minutes=30)),
        "koji": (3, 0, (), None),
    }
    assert [f.label for f in r.services] == ["pkgdb", "fas", "koji"]  # busiest first
    assert r.unnamed == 0


def test_an_incident_fails_only_the_latest_deployment_of_its_service() -> None:
    changes = [Change(day(1, 10), "pkgdb"), Change(day(1, 11), "pkgdb")]
    r = change_report(changes, [incident(1, "pkgdb", day(1, 12))], T0, PERIOD_END, WINDOW)
    assert (r.overall.changes, r.overall.failed, r.overall.incidents) == (2, 1, (1,))
    assert r.overall.unrestored == 1  # still open: no time to restore yet


def test_the_window_is_configurable_and_its_end_is_exclusive() -> None:
    changes = [Change(day(1), "pkgdb")]
    at_the_end = [incident(1, "pkgdb", day(1) + timedelta(hours=2))]
    assert (
        change_report(changes, at_the_end, T0, PERIOD_END, timedelta(hours=2)).overall.failed == 0
    )
    assert (
        change_report(changes, at_the_end, T0, PERIOD_END, timedelta(hours=3)).overall.failed == 1
    )


def test_an_incident_after_the_period_still_fails_a_change_inside_it() -> None:
    changes = [Change(day(29, 23), "koji"), Change(day(30, 3), "koji")]
    incidents = [incident(7, "koji", day(30, 1)), incident(8, "koji", day(30, 4))]
    r = change_report(changes, incidents, T0, PERIOD_END, WINDOW)
    # #8 follows the later deployment, made after the period: blamed on it, not counted
    assert (r.overall.changes, r.overall.failed, r.overall.incidents) == (1, 1, (7,))


def test_a_reopened_incident_has_no_time_to_restore_and_wontfix_counts() -> None:
    changes = [Change(day(1), "fas"), Change(day(2), "fas")]
    reopened = Reported(Timeline(1, "fas", Status.OPEN, day(1, 1), None, day(1, 2)))
    wontfix = incident(2, "fas", day(2, 1), status=Status.WONTFIX)
    r = change_report(changes, [reopened, wontfix], T0, PERIOD_END, WINDOW)
    assert (r.overall.failed, r.overall.restore.count, r.overall.unrestored) == (2, 0, 2)


def test_a_deploy_day_without_deployments_counts_as_one_change() -> None:
    planned = Change(day(3, 8), "pkgdb", deploy_id=1)  # started from a plan for pkgdb
    unnamed = Change(day(9, 8), None, deploy_id=2)  # a deploy day that names no service
    incidents = [
        incident(1, "pkgdb", day(3, 9), timedelta(hours=2), deploy_id=1),
        incident(2, "bodhi", day(3, 10), deploy_id=1),  # of no service the day changed
        incident(3, "koji", day(9, 9), timedelta(minutes=20), deploy_id=2),
        incident(4, "koji", day(9, 10), deploy_id=None),  # not reported in that deploy day
    ]
    r = change_report([planned, unnamed], incidents, T0, PERIOD_END, WINDOW)
    assert (r.overall.changes, r.overall.failed, r.overall.incidents) == (2, 2, (1, 3))
    assert [(f.label, f.changes, f.incidents) for f in r.services] == [("pkgdb", 1, (1,))]
    assert r.unnamed == 1
    assert r.overall.restore.median == timedelta(minutes=70)  # of 2h and 20m


def test_stats_in_chat() -> None:
    r = report()
    assert render_stats(r, "last 30 days", None, "!").plain == (
        "Change failure, last 30 days: a deployment failed if an incident of its service "
        "came within 24h\n"
        "all: 10 deployments (0.33 a day, 2.3 a week); 2 failed (20%): #1, #2; time to "
        "restore median 1h, mean 1h\n"
        "pkgdb: 4 deployments (0.13 a day, 0.93 a week); 1 failed (25%): #1; time to "
        "restore median 1h 30m, mean 1h 30m\n"
        "fas: 3 deployments (0.1 a day, 0.7 a week); 1 failed (33%): #2; time to restore "
        "median 30m, mean 30m\n"
        "koji: 3 deployments (0.1 a day, 0.7 a week); none failed"
    )
    assert render_stats(r, "last 30 days", "koji", "!").plain.splitlines()[1] == (
        "koji: 3 deployments (0.1 a day, 0.7 a week); none failed"
    )
    assert render_stats(r, "last 30 days", "bodhi", "!").plain == (
        "Change failure, last 30 days: no deployments of bodhi recorded"
    )


def test_busy_services_read_in_whole_numbers() -> None:
    changes = [Change(day(1) + timedelta(minutes=n), "pkgdb") for n in range(215)]
    r = change_report(changes, [], T0, day(2), WINDOW)
    assert render_stats(r, "x", "pkgdb", "!").plain.splitlines()[1] == (
        "pkgdb: 215 deployments (108 a day, 752 a week); none failed"
    )


def test_many_services_and_failures_are_cut_short_in_chat() -> None:
    changes = [Change(day(1, n), f"svc{n}") for n in range(7)]
    incidents = [incident(n, "svc0", day(1, n / 60 + 0.1)) for n in range(1, 11)]
    lines = render_stats(
        change_report(changes, incidents, T0, PERIOD_END, WINDOW), "x", None, "!"
    ).plain.splitlines()
    assert lines[1].endswith("#1, #2, #3, #4, #5, #6, #7, #8 and 2 more; 10 not restored")
    assert len(lines) == 2 + 5 + 1
    assert lines[-1] == "… and 2 more services: !stats <service>"


def test_the_digest_section_and_the_json_section() -> None:
    r = report()
    section = change_section(r, PRAGUE)
    assert section[:3] == ["## Change failure", "", section[2]]
    assert section[2] == (
        "Deployments from 2026-11-01 01:00 to 2026-12-01 01:00; one failed when an incident "
        "of its service was reported within 24h of it."
    )
    assert section[6:8] == [
        "| all | 10 | 2 | 20% | #1 #2 | 1h | 1h |",
        "| pkgdb | 4 | 1 | 25% | #1 | 1h 30m | 1h 30m |",
    ]
    assert change_section(None, PRAGUE) == []
    doc = change_json(r)
    assert {k: doc[k] for k in ("since", "until", "window_seconds", "days")} == {
        "since": "2026-11-01T00:00:00Z",
        "until": "2026-12-01T00:00:00Z",
        "window_seconds": 86400,
        "days": 30.0,
    }
    assert doc["overall"] == {
        "service": None,
        "deployments": 10,
        "per_day": 0.333,
        "per_week": 2.333,
        "failed": 2,
        "failure_rate": 0.2,
        "incidents": [1, 2],
        "time_to_restore": {"count": 2, "median_seconds": 3600, "mean_seconds": 3600},
        "unrestored": 0,
    }
    assert [s["service"] for s in doc["services"]] == ["pkgdb", "fas", "koji"]
    assert doc["deploy_days_without_service"] == 0


def test_the_period_starts_from_a_span_or_a_date_in_the_past() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now, PRAGUE) == datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    assert parse_since("2026-11-20", now, PRAGUE) == datetime(2026, 11, 20, tzinfo=PRAGUE)
    with pytest.raises(UserError, match=r"^--since: 2026-12-01 is not in the past; say 7d"):
        parse_since("2026-12-01", now, PRAGUE)
    with pytest.raises(UserError, match=r"^--since: say how far back \(7d, 30d, 12h\) or"):
        parse_since("last week", now, PRAGUE)
    with pytest.raises(UserError, match="expected a date like 2026-11-25"):
        parse_since("2026-13-01", now, PRAGUE)
