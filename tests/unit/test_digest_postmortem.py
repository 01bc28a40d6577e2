"""The postmortem's pure rules: where duplicates sit (chains, rings, originals from another
deploy), how an incident's end reads, which pages and reminders the timeline takes, and
how a digest file is replaced and its versions kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.files import OWNER
from plugins.deploys.service import DeployView
from plugins.digest.facts import (
    EventFacts,
    IncidentFacts,
    PageFacts,
    ReminderFacts,
    SidelineFacts,
)
from plugins.digest.figures import build
from plugins.digest.outcomes import nested, resolution
from plugins.digest.saving import save
from plugins.digest.views import timeline_text
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.service import EventView

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def t(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def incident(n: int, status: Status = Status.OPEN, dup: int | None = None) -> IncidentFacts:
    return IncidentFacts(n, n, "svc", f"s{n}", 3, None, status, None, None, t(n), duplicate_of=dup)


def event(n: int, m: float, kind: Action, actor: str | None, detail: str | None) -> EventFacts:
    return EventFacts(n, None, None, EventView(t(m), actor, kind, detail, None, None, None, None))


def test_duplicates_sit_under_their_original_in_chains_and_rings() -> None:
    rows = [(1, None), (2, 5), (3, 1), (4, 3), (5, None), (6, 99), (7, 8), (8, 7)]
    order = nested(rows, lambda r: r[0], lambda r: r[1])
    # #3 under #1 and #4 under #3; #2 under #5; #6's original is not in this deploy;
    # #7 and #8 duplicate each other, so neither is an original: they come last
    assert [n for n, _ in order] == [1, 3, 4, 5, 2, 6, 7, 8]


def test_how_an_incident_ended() -> None:
    fixed = incident(1, Status.FIXED)
    assert resolution(incident(1), []) == "still open"
    assert resolution(incident(2, Status.DUPLICATE, dup=1), []) == "duplicate of #1"
    events = [
        event(1, 5, Action.FIX, "bob", "restarted"),
        event(1, 9, Action.FIX, "carol", "added the index"),  # the fix that stands
    ]
    assert resolution(fixed, events) == "fixed by carol: added the index"
    assert resolution(fixed, [event(1, 5, Action.FIX, "bob", None)]) == "fixed by bob"
    by_alert = [event(1, 5, Action.FIX, "alertmanager", "resolved by alertmanager")]
    assert resolution(fixed, by_alert) == "resolved by alertmanager"
    wontfix = [event(1, 5, Action.WONTFIX, "bob", "v1 is gone")]
    assert resolution(incident(1, Status.WONTFIX), wontfix) == "won't fix by bob: v1 is gone"


def test_the_timeline_takes_pages_and_reminders_of_the_deploy_only() -> None:
    deploy = DeployView(1, "pkgdb2", False, None, False, t(0), t(60), "alice", None)
    sideline = SidelineFacts(
        pages=[
            PageFacts(t(-5), "alice", "infra", None),  # before the deploy
            PageFacts(t(10), "alice", "bob", "look at pkgdb"),
        ],
        reminders=[
            ReminderFacts(t(20), 1, "stale"),
            ReminderFacts(t(25), 42, "unowned"),  # another deploy's incident
            ReminderFacts(t(30), None, "nobody"),
            ReminderFacts(t(70), 1, "stale"),  # after the end
        ],
    )
    digest = build(deploy, t(60), [incident(1)], [], [], {}, sideline=sideline)
    assert [(e.at, timeline_text(digest, e)) for e in digest.timeline] == [
        (t(0), "deploy pkgdb2 started by alice"),
        (t(10), "alice paged bob: look at pkgdb"),
        (t(20), "#1 svc: reminder to its owner: no update"),
        (t(30), "reminders held back: nobody on duty"),
        (t(60), "deploy pkgdb2 ended"),
    ]


def test_a_digest_replaces_its_file_and_keeps_versions_only_when_asked(tmp_path: Path) -> None:
    for text in ("one\n", "two\n", "three\n"):
        path = save(tmp_path, "PkgDB 2", "md", text, OWNER, keep=0)
    assert [p.name for p in tmp_path.iterdir()] == ["digest-pkgdb_2.md"]
    assert path.read_text() == "three\n"

    kept = tmp_path / "kept"
    for text in ("one\n", "two\n", "two\n", "three\n", "four\n"):
        save(kept, "pkgdb2", "md", text, OWNER, keep=2)
    assert {p.name: p.read_text() for p in kept.iterdir()} == {
        "digest-pkgdb2.md": "four\n",
        "digest-pkgdb2.2.md": "two\n",
        "digest-pkgdb2.3.md": "three\n",
    }


def test_a_digest_written_in_pieces_is_the_same_file(tmp_path: Path) -> None:
    pieces = ["# Deploy digest: pkgdb2\n", "\n", "- 09:00 deploy pkgdb2 started\n"]
    path = save(tmp_path, "pkgdb2", "md", iter(pieces), OWNER, keep=0)
    assert path.read_text() == "".join(pieces)
    # keeping versions, the same text in pieces is no new version; other text is
    save(tmp_path, "pkgdb2", "md", iter(pieces), OWNER, keep=2)
    assert [p.name for p in tmp_path.iterdir()] == ["digest-pkgdb2.md"]
    save(tmp_path, "pkgdb2", "md", iter(pieces[:2]), OWNER, keep=2)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "digest-pkgdb2.md": "# Deploy digest: pkgdb2\n\n",
        "digest-pkgdb2.1.md": "".join(pieces),
    }
