"""The calendar feed as two independent parsers read it back (icalendar, which wrote it,
and vobject): what a subscribed calendar shows for a plan, moved or cancelled, with its
alarms, in UTC, with awkward text intact; and the one-line config errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from bot.config import ConfigError
from bot.loading import load_config
from bot.people import PersonRef
from plugins.plans.calendar import FeedShape, feed
from plugins.plans.feed import default_domain
from plugins.plans.service import PlanView, Responder

PRAGUE = ZoneInfo("Europe/Prague")
PLANNED_AT = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
SHAPE = FeedShape(
    "Deploys; infra, releng",
    "deployday.irc.example.org",
    timedelta(hours=2),
    [timedelta(days=7), timedelta(days=1), timedelta(hours=1)],
)
AWKWARD = "Ünïcode déploy, with; semicolons\nand a second line \\ backslash " + "é" * 60


def plan(**kw: object) -> PlanView:
    values: dict[str, object] = {
        "id": 12,
        "name": "pkgdb2",
        "service": "pkgdb",
        "environment": "production",
        "api_break": True,
        "description": "packages API v2",
        # 09:00 in Prague: the feed says 08:00 UTC
        "planned_for": datetime(2026, 11, 25, 9, 0, tzinfo=PRAGUE),
        "moved_from": None,
        "status": "planned",
        "planned_by": "alice",
        "created_at": PLANNED_AT,
    }
    return PlanView(**{**values, **kw})  # type: ignore[arg-type]


RESPONDERS = [Responder(PersonRef(3, "bob"), None), Responder(None, "releng")]


def both(plans: Sequence[tuple[PlanView, Sequence[Responder]]]) -> tuple[list, list]:
    """The feed's events as icalendar and as vobject parse them."""
    raw = feed(plans, SHAPE)
    ours = icalendar.Calendar.from_ical(raw)
    theirs = vobject.readOne(raw.decode())
    return list(ours.walk("VEVENT")), list(theirs.contents.get("vevent", []))


def test_a_planned_api_break_reads_the_same_in_both_parsers() -> None:
    [ours], [theirs] = both([(plan(), RESPONDERS)])
    start = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    summary = "Deploy pkgdb2 of pkgdb (production) — API BREAK"
    description = (
        "packages API v2\nIt breaks the pkgdb API: anyone using it, be reachable.\n"
        "Expected on duty: bob, releng\nPlanned by alice."
    )
    assert str(ours["SUMMARY"]) == theirs.summary.value == summary
    assert str(ours["UID"]) == theirs.uid.value == "plan-12@deployday.irc.example.org"
    assert ours.decoded("DTSTART") == theirs.dtstart.value == start
    assert ours.decoded("DTEND") == theirs.dtend.value == start + timedelta(hours=2)
    assert theirs.dtstart.value.utcoffset() == timedelta(0)
    assert str(ours["STATUS"]) == theirs.status.value == "CONFIRMED"
    assert str(ours["DESCRIPTION"]) == theirs.description.value == description
    assert ours.decoded("SEQUENCE") == int(theirs.sequence.value) == 0
    assert ours.decoded("DTSTAMP") == theirs.dtstamp.value == PLANNED_AT
    triggers = [-timedelta(days=7), -timedelta(days=1), -timedelta(hours=1)]
    assert [a.decoded("TRIGGER") for a in ours.walk("VALARM")] == triggers
    assert [a.trigger.value for a in theirs.valarm_list] == triggers
    assert [a.description.value for a in theirs.valarm_list][-1] == f"{summary} starts in 1h"
    assert {a.action.value for a in theirs.valarm_list} == {"DISPLAY"}


def test_the_calendar_is_named_and_utc_only() -> None:
    raw = feed([(plan(api_break=False, description=None), [])], SHAPE)
    cal = vobject.readOne(raw.decode())
    assert cal.contents["x-wr-calname"][0].value == "Deploys; infra, releng"
    # icalendar keeps calendar-level X- properties as written: escaped as TEXT
    name = icalendar.Calendar.from_ical(raw)["X-WR-CALNAME"]
    assert name.to_ical() == b"Deploys\\; infra\\, releng"
    assert b"TZID" not in raw and b"DTSTART:20261125T080000Z\r\n" in raw
    assert cal.vevent.summary.value == "Deploy pkgdb2 of pkgdb (production)"
    assert cal.vevent.description.value == "Planned by alice."


def test_awkward_text_survives_escaping_and_folding() -> None:
    raw = feed([(plan(description=AWKWARD), [])], SHAPE)
    [ours], [theirs] = both([(plan(description=AWKWARD), [])])
    assert str(ours["DESCRIPTION"]).splitlines()[:2] == theirs.description.value.splitlines()[:2]
    assert theirs.description.value.startswith(AWKWARD + "\n")
    assert str(ours["DESCRIPTION"]).startswith(AWKWARD + "\n")
    unfolded = raw.decode().replace("\r\n ", "")
    assert "DESCRIPTION:Ünïcode déploy\\, with\\; semicolons\\nand a second line \\\\ b" in (
        unfolded
    )
    # RFC 5545 3.1: lines are folded at 75 octets, never inside a UTF-8 character
    assert max(len(line) for line in raw.split(b"\r\n")) <= 75
    raw.decode("utf-8")


def test_a_moved_plan_is_the_same_event_with_a_higher_sequence() -> None:
    changed = PLANNED_AT + timedelta(days=1)
    moved = plan(
        planned_for=datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
        moved_from=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        revision=1,
        changed_at=changed,
    )
    [before], [_] = both([(plan(), [])])
    [ours], [theirs] = both([(moved, [])])
    assert str(ours["UID"]) == theirs.uid.value == str(before["UID"])
    assert ours.decoded("SEQUENCE") == int(theirs.sequence.value) == 1
    assert theirs.dtstart.value == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    assert theirs.dtstamp.value == theirs.last_modified.value == changed
    assert theirs.created.value == PLANNED_AT


def test_a_cancelled_plan_keeps_its_uid_and_loses_its_alarms() -> None:
    cancelled = plan(status="cancelled", revision=2, changed_at=PLANNED_AT + timedelta(days=2))
    [ours], [theirs] = both([(cancelled, RESPONDERS)])
    assert theirs.uid.value == "plan-12@deployday.irc.example.org"
    assert str(ours["STATUS"]) == theirs.status.value == "CANCELLED"
    assert theirs.summary.value == "Cancelled: Deploy pkgdb2 of pkgdb (production) — API BREAK"
    assert "This deploy is cancelled." in theirs.description.value
    assert int(theirs.sequence.value) == 2
    assert "valarm" not in theirs.contents and not list(ours.walk("VALARM"))


def test_each_plan_is_its_own_event() -> None:
    ours, theirs = both([(plan(), []), (plan(id=13, name="fas3", service="fas"), [])])
    assert [t.uid.value for t in theirs] == [
        "plan-12@deployday.irc.example.org",
        "plan-13@deployday.irc.example.org",
    ]
    assert [str(e["SUMMARY"]) for e in ours][1] == "Deploy fas3 of fas (production) — API BREAK"


def config(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(path)


@pytest.mark.parametrize(
    ("networks", "domain"),
    [
        (
            "{libera: {kind: irc, host: IRC.Libera.Chat, nick: Deploy_Day, channels: ['#a']}}",
            "deploy-day.irc.libera.chat",
        ),
        (
            "{fedora: {kind: matrix, homeserver: 'https://matrix.example.org', "
            "user_id: '@deployday:example.org', access_token_env: T, rooms: ['#a:example.org']}}",
            "deployday.example.org",
        ),
        ("{}", "deployday.localhost"),
    ],
)
def test_the_uid_domain_comes_from_the_bots_identity(
    tmp_path: Path, networks: str, domain: str
) -> None:
    assert default_domain(config(tmp_path, f"networks: {networks}\n")) == domain


@pytest.mark.parametrize(
    ("calendar", "expected"),
    [
        ("{duration: 9d}", "plans.calendar.duration: expected a length of time like 2h or 90m"),
        ("{keep: soon}", "plans.calendar.keep: expected a length of time like 30d"),
        ("{domain: 'Not A Domain'}", "plans.calendar.domain: expected a lowercase domain"),
        ("{token_env: 'a b'}", "plans.calendar.token_env: expected an environment variable"),
    ],
)
def test_calendar_settings_errors_name_their_key(
    tmp_path: Path, calendar: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        config(tmp_path, f"plans: {{calendar: {calendar}}}\n")
    [problem] = err.value.problems
    assert expected in problem
