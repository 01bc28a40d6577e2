"""Pure pieces of the digest and export: escaping, atomic files, dates people type,
which team an incident counts for, and which deploy the end-of-day digest is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.commands import UserError
from bot.files import GROUP, OWNER
from plugins.common.files import atomic_text, csv_cell, file_stem, md_cell
from plugins.common.when import parse_moment
from plugins.deploys.service import DeployView
from plugins.digest.facts import EventFacts, IncidentFacts, ShiftFacts
from plugins.digest.figures import build
from plugins.digest.service import end_of_day_pick
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.service import EventView

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PRAGUE = ZoneInfo("Europe/Prague")


def t(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_csv_cells_never_start_a_formula(value: object, expected: str) -> None:
    assert csv_cell(value) == expected


def test_markdown_cells_cannot_break_the_table() -> None:
    assert md_cell("a|b\\c\nd\r\ne<script>&") == "a\\|b\\\\c<br>d<br>e&lt;script&gt;&amp;"
    assert md_cell(None) == ""


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("[x](http://evil)", r"\[x\](http\://evil)"),
        ("![img](https://e/i.png)", r"!\[img\](https\://e/i.png)"),
        ("<http://evil>", r"&lt;http\://evil&gt;"),
        ("see www.evil.org now", r"see www\.evil.org now"),
        ("pkgdb returns 410 (gone)", "pkgdb returns 410 (gone)"),
    ],
)
def test_markdown_cells_make_no_links(typed: str, written: str) -> None:
    assert md_cell(typed) == written


def test_file_stems_stay_in_their_directory() -> None:
    assert file_stem("digest", "../../etc/passwd") == "digest-.._.._etc_passwd"
    assert file_stem("..hidden") == "hidden"
    assert "/" not in file_stem("a/b", "c d")


def test_atomic_files_are_whole_or_absent(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_text(target, OWNER) as f:
        f.write("complete\n")
    assert target.read_text() == "complete\n"
    assert target.stat().st_mode & 0o777 == 0o600
    with atomic_text(target, GROUP) as f:
        f.write("complete\n")
    assert target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(RuntimeError), atomic_text(target, OWNER) as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    missing = r"cannot write .*/missing/x: No such file or directory"
    with pytest.raises(UserError, match=missing), atomic_text(tmp_path / "missing" / "x", OWNER):
        pass


def test_dates_people_type() -> None:
    assert parse_moment("2026-11-25", PRAGUE, "--since") == datetime(2026, 11, 25, tzinfo=PRAGUE)
    assert parse_moment("2026-11-25", PRAGUE, "--until", end=True) == datetime(
        2026, 11, 26, tzinfo=PRAGUE
    )
    assert parse_moment("2026-11-25T09:30", PRAGUE, "--since") == datetime(
        2026, 11, 25, 9, 30, tzinfo=PRAGUE
    )
    assert parse_moment("2026-11-25T08:30Z", PRAGUE, "--since") == datetime(
        2026, 11, 25, 8, 30, tzinfo=UTC
    )
    with pytest.raises(UserError) as err:
        parse_moment("tomorrow", PRAGUE, "--since")
    assert str(err.value) == (
        "--since: expected a date like 2026-11-25 or a time like 2026-11-25T09:30, got 'tomorrow'"
    )
    for far in ("9999-12-31", "0001-01-01", "9999-12-31T23:59+14:00"):
        with pytest.raises(UserError) as err:
            parse_moment(far, PRAGUE, "--until", end=True)
        assert str(err.value) == (
            f"--until: {far} is outside the dates I handle, 2000-01-01 to 2099-12-31"
        )


def deploy(ended: datetime | None = None) -> DeployView:
    return DeployView(1, "pkgdb2", False, None, ended is None, T0, ended, "alice", None)


def test_an_incident_counts_for_its_owners_team_at_the_time() -> None:
    def incident(i: int, owner: int | None) -> IncidentFacts:
        return IncidentFacts(
            i, i, "svc", "s", 3, None, Status.ACKNOWLEDGED, owner, f"p{owner}", t(0)
        )

    def event(i: int, m: float, kind: Action, actor: int, target: int | None = None) -> EventFacts:
        view = EventView(t(m), f"p{actor}", kind, None, None, None, None, None)
        return EventFacts(i, actor, target, view)

    digest = build(
        deploy(),
        t(100),
        [incident(1, 7), incident(2, 7), incident(3, 8), incident(4, None)],
        [
            event(1, 10, Action.TAKE, 7),  # on duty for releng then
            event(2, 40, Action.ASSIGN, 9, target=7),  # by then on duty for qa
            event(3, 5, Action.TAKE, 8),  # never on duty: first roster team
        ],
        [
            ShiftFacts(7, "p7", "releng", t(0), t(30)),
            ShiftFacts(7, "p7", "qa", t(30), None),
        ],
        {8: "docs"},
    )
    assert [(r.number, r.team) for r in digest.incidents] == [
        (1, "releng"),
        (2, "qa"),
        (3, "docs"),
        (4, "unowned"),
    ]
    [p7] = [h for h in digest.helpers if h.name == "p7"]
    assert (p7.teams, p7.on_duty, p7.owned) == (("releng", "qa"), timedelta(minutes=100), 2)


def test_the_end_of_day_digest_is_about_today() -> None:
    active, ended_today = deploy(), deploy(ended=t(60))
    assert end_of_day_pick(active, None, t(600), PRAGUE) is active
    assert end_of_day_pick(None, ended_today, t(600), PRAGUE) is ended_today
    assert end_of_day_pick(None, ended_today, t(600 + 24 * 60), PRAGUE) is None
    assert end_of_day_pick(None, None, t(600), PRAGUE) is None
