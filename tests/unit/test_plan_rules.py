"""Pure rules of the deploy-day policy, with exact times: reading planned times in the
configured zone, the mailed announcement, who counts as checked in, staging mix-ups,
the settings' validation, and the digest's new figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.commands import UserError
from bot.config import ConfigError
from bot.loading import build_config
from bot.people import PersonRef
from plugins.catalog.service import Consumer, ServiceInfo, staging_mixup
from plugins.catalog.settings import CatalogSettings
from plugins.common.when import moment, parse_when, span, span_label
from plugins.deploys.service import DeployView
from plugins.digest.facts import EventFacts, IncidentFacts, PolicyFacts, ResponderFacts, ShiftFacts
from plugins.digest.figures import build
from plugins.digest.policy import Reach
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.service import EventView
from plugins.plans.mail import mail_text
from plugins.plans.service import Notice, PlanView, Responder
from plugins.plans.views import checked_in
from plugins.roster.service import Shift

PRAGUE = ZoneInfo("Europe/Prague")
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # 15:30 in Prague, a Friday


def when(text: str, now: datetime = NOW) -> tuple[datetime, int]:
    return parse_when(text.split(), now, PRAGUE)


def test_times_are_read_in_the_configured_zone_and_returned_in_utc() -> None:
    at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Prague (CET)
    assert when("2026-11-25 09:00 packages API v2") == (at, 2)
    assert when("2026-11-25T09:00 packages") == (at, 1)
    assert when("2026-11-25T09:00Z") == (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), 1)
    assert when("2026-11-25T10:00+02:00") == (at, 1)
    assert when("tomorrow 09:00") == (datetime(2026, 11, 21, 8, 0, tzinfo=UTC), 2)
    assert when("today 16:00") == (datetime(2026, 11, 20, 15, 0, tzinfo=UTC), 2)
    assert when("17:45 desc") == (datetime(2026, 11, 20, 16, 45, tzinfo=UTC), 1)
    assert when("+2h") == (NOW + timedelta(hours=2), 1)
    assert when("+1d12h30m") == (NOW + timedelta(days=1, hours=12, minutes=30), 1)
    # summer time: 09:00 in Prague is 07:00 UTC
    assert when("2027-06-01 09:00") == (datetime(2027, 6, 1, 7, 0, tzinfo=UTC), 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "say when: 2026-11-25 09:00, 2026-11-25T09:00Z, tomorrow 09:00, 09:00 (today) or +2h"),
        (
            "yesterday",
            "I can't read 'yesterday' as a time; say 2026-11-25 09:00, 2026-11-25T09:00Z, "
            "tomorrow 09:00, 09:00 (today) or +2h",
        ),
        (
            "25:00",
            "I can't read '25:00' as a time; say 2026-11-25 09:00, 2026-11-25T09:00Z, "
            "tomorrow 09:00, 09:00 (today) or +2h",
        ),
        (
            "+0h",
            "I can't read '+0h' as a time; say 2026-11-25 09:00, 2026-11-25T09:00Z, "
            "tomorrow 09:00, 09:00 (today) or +2h",
        ),
        ("2026-11-25", "say the time too, like 2026-11-25 09:00"),
        ("tomorrow noon", "say the time too, like tomorrow 09:00"),
        ("2026-13-01 09:00", "2026-13-01 is not a date; dates look like 2026-11-25"),
        (
            "2026-11-19 09:00",
            "Thu 2026-11-19 09:00 CET is in the past (it is Fri 2026-11-20 15:30 CET now); "
            "plan a later time",
        ),
        (
            "2026-11-20T14:00Z",
            "Fri 2026-11-20 15:00 CET is in the past (it is Fri 2026-11-20 15:30 CET now); "
            "plan a later time",
        ),
        ("09:00", "09:00 today has passed (it is 15:30 CET now); say tomorrow 09:00 or a date"),
        (
            "2027-03-28 02:30",
            "2027-03-28 02:30 does not exist in Europe/Prague (the clocks change); "
            "pick another time",
        ),
    ],
)
def test_each_bad_time_is_one_line(text: str, message: str) -> None:
    with pytest.raises(UserError) as err:
        when(text)
    assert str(err.value) == message


def test_spans_and_moments() -> None:
    assert span("7d") == timedelta(days=7)
    assert span("1d12h") == timedelta(days=1, hours=12)
    assert span("90m") == timedelta(minutes=90)
    assert span("soon") is None and span("") is None
    assert [span_label(timedelta(minutes=m)) for m in (10080, 2160, 90, 60, 5)] == [
        "7d",
        "1d12h",
        "1h30m",
        "1h",
        "5m",
    ]
    assert moment(datetime(2026, 11, 25, 8, 0, tzinfo=UTC), PRAGUE) == "Wed 2026-11-25 09:00 CET"
    assert moment(datetime(2027, 6, 1, 7, 0, tzinfo=UTC), PRAGUE) == "Tue 2027-06-01 09:00 CEST"


def plan(api_break: bool = True, **kw: object) -> PlanView:
    values: dict[str, object] = {
        "id": 1,
        "name": "pkgdb2",
        "service": "pkgdb",
        "environment": "production",
        "api_break": api_break,
        "description": "packages API v2",
        "planned_for": datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        "moved_from": None,
        "status": "planned",
        "planned_by": "alice",
    }
    return PlanView(**{**values, **kw})  # type: ignore[arg-type]


PKGDB = ServiceInfo(
    "pkgdb",
    "essential",
    "infra",
    [Consumer("bodhi", "infra"), Consumer("koji-scripts", "releng")],
)


def test_the_mailed_api_break_says_so_plainly() -> None:
    subject, body = mail_text(Notice("planned", plan()), PKGDB, PRAGUE, NOW)
    assert subject == "[API BREAK] pkgdb2 of pkgdb: Wed 2026-11-25 09:00 CET"
    assert body == (
        "Deploy pkgdb2 of pkgdb (production) is planned for Wed 2026-11-25 09:00 CET "
        "(2026-11-25 08:00 UTC).\n"
        "\n"
        "THE PKGDB API BREAKS. Anything written against the current pkgdb API may stop "
        "working when this deploy goes out; update it before then.\n"
        "\n"
        "Known consumers: bodhi (infra), koji-scripts (releng).\n"
        "If you use pkgdb and are not listed, tell the infra team before the deploy, so that "
        "you are paged on the day.\n"
        "\n"
        "What changes: packages API v2\n"
        "\n"
        "Planned by alice.\n"
    )
    subject, body = mail_text(
        Notice("reminder", plan()),
        None,
        PRAGUE,
        plan().planned_for - timedelta(days=1, seconds=20),
    )
    assert subject == "[API BREAK] in 1d: pkgdb2 of pkgdb, Wed 2026-11-25 09:00 CET"
    assert body.splitlines()[:5] == [
        "Reminder: deploy pkgdb2 of pkgdb (production) starts in 1d, on Wed 2026-11-25 09:00 "
        "CET (2026-11-25 08:00 UTC).",
        "",
        "THE PKGDB API BREAKS. Anything written against the current pkgdb API may stop "
        "working when this deploy goes out; update it before then.",
        "",
        "No consumers of pkgdb are known.",
    ]


def test_routine_moved_and_cancelled_mails() -> None:
    routine = plan(api_break=False, name="pkgdb", description=None)
    assert mail_text(Notice("planned", routine), PKGDB, PRAGUE, NOW) == (
        "[deploy] pkgdb: Wed 2026-11-25 09:00 CET",
        "Deploy pkgdb (production) is planned for Wed 2026-11-25 09:00 CET (2026-11-25 08:00 "
        "UTC).\n\nThe pkgdb API does not change.\n\nPlanned by alice.\n",
    )
    moved = plan(moved_from=datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    subject, body = mail_text(Notice("moved", moved), PKGDB, PRAGUE, NOW)
    assert subject == "[API BREAK] moved: pkgdb2 of pkgdb, now Wed 2026-11-25 09:00 CET"
    assert body.splitlines()[0] == (
        "Deploy pkgdb2 of pkgdb (production) has moved to Wed 2026-11-25 09:00 CET "
        "(2026-11-25 08:00 UTC); it was planned for Tue 2026-11-24 09:00 CET."
    )
    subject, body = mail_text(Notice("cancelled", plan()), PKGDB, PRAGUE, NOW)
    assert subject == "[API BREAK] cancelled: pkgdb2 of pkgdb, was Wed 2026-11-25 09:00 CET"
    assert body == (
        "Deploy pkgdb2 of pkgdb (production), planned for Wed 2026-11-25 09:00 CET, is "
        "cancelled; nothing changes then.\n\nWhat changes: packages API v2\n\nPlanned by alice.\n"
    )


def test_who_counts_as_checked_in() -> None:
    bob, erin = PersonRef(1, "bob"), PersonRef(2, "erin")
    shifts = [Shift(bob, "infra", NOW), Shift(PersonRef(3, "carol"), "releng", NOW)]
    expected = [
        Responder(None, "releng"),
        Responder(bob, None),
        Responder(None, "docs"),
        Responder(erin, None),
    ]
    assert checked_in(expected, shifts) == (["releng (carol)", "bob (infra)"], ["docs", "erin"])


def test_a_staging_report_during_a_production_deploy_is_a_mix_up() -> None:
    cfg = CatalogSettings()
    assert staging_mixup(cfg, "stg", "production")
    assert staging_mixup(cfg, "staging", "prod")
    assert not staging_mixup(cfg, "production", "production")
    assert not staging_mixup(cfg, "stg", "staging")  # a rehearsal on staging
    assert not staging_mixup(cfg, "stg", None)  # a deploy that never said where it goes
    assert not staging_mixup(cfg, None, "production")


def config_problems(**sections: object) -> list[str]:
    with pytest.raises(ConfigError) as err:
        build_config(dict(sections))
    return err.value.problems


def test_policy_settings_are_checked_like_the_rest_of_the_config() -> None:
    assert config_problems(
        plans={"remind_before": ["7d", "soon", "1h"], "mail_to": ["list"]},
        catalog={"services": {"fas": {"criticality": "core", "consumers": {"x": "Rel"}}}},
    ) == [
        "catalog.services.fas.criticality: expected 'essential' or 'leaf' (got 'core')",
        "catalog.services.fas.consumers: expected lowercase team names like 'releng', got 'Rel'",
        "plans.remind_before: expected times before the deploy like 7d, 1h or 30m, got 'soon'",
        "plans.mail_to: expected mail addresses like ops@example.org, got 'list'",
    ]
    assert config_problems(plans={"remind_before": ["1h", "60m"]}) == [
        "plans.remind_before: the same time before the deploy is listed twice"
    ]
    assert config_problems(catalog={"services": {"PkgDB": {}}}) == [
        "catalog.services: expected lowercase service names like pkgdb or koji-scripts, got 'PkgDB'"
    ]
    assert config_problems(catalog={"staging_environments": ["stg", "prod"]}) == [
        "catalog: prod cannot be production and staging at once"
    ]


T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_digest_groups_unknown_consumers_and_finds_when_responders_were_reached() -> None:
    deploy = DeployView(1, "pkgdb2", True, None, False, T0, t(120), "alice", None, "production")

    def incident(i: int, consumer: str, known: bool | None, staging: bool = False) -> IncidentFacts:
        return IncidentFacts(
            i,
            i,
            "pkgdb",
            "s",
            3,
            "stg" if staging else None,
            Status.OPEN,
            None,
            None,
            t(i * 10),
            consumer,
            known,
            staging,
        )

    def reported(i: int, who: str) -> EventFacts:
        return EventFacts(
            i, 9, None, EventView(t(i * 10), who, Action.REPORT, "s", 3, None, None, None)
        )

    digest = build(
        deploy,
        t(120),
        [
            incident(1, "review", False),
            incident(2, "bodhi", True, staging=True),
            incident(3, "review", False),
            incident(4, "mirrors", False),
        ],
        [reported(1, "dave"), reported(2, "erin"), reported(3, "erin"), reported(4, "frank")],
        [
            ShiftFacts(5, "bob", "infra", t(-30), None),  # on duty before the start
            ShiftFacts(6, "carol", "releng", t(40), t(50)),
            ShiftFacts(6, "carol", "qa", t(70), None),
        ],
        {},
        PolicyFacts(
            t(0),
            [
                ResponderFacts("infra", None, "infra", None),
                ResponderFacts("carol", 6, None, t(10)),
                ResponderFacts("docs", None, "docs", t(10)),
            ],
            {("pkgdb", "mirrors"): "alice"},
        ),
    )
    assert [(u.consumer, u.numbers, u.reporter, u.added_by) for u in digest.unknown_consumers] == [
        ("review", (1, 3), "dave", None),
        ("mirrors", (4,), "frank", "alice"),
    ]
    assert [(m.number, m.consumer, m.reporter) for m in digest.staging_mixups] == [
        (2, "bodhi", "erin")
    ]
    assert digest.responders == [
        Reach("infra", t(0), "bob", None),
        Reach("carol", t(40), "releng", t(10)),
        Reach("docs", None, None, t(10)),
    ]
