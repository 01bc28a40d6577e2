"""The outbox is fair and says what it drops; long private answers come a page at a time
(issue 11, reproduction 7: two 150-line private answers used to hold a channel's reply
up for 46 s, and a full outbox dropped the oldest lines whoever they were for)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.clock import FakeClock
from bot.transports.outbox import Outbox, Queued, cut_text
from bot.transports.pager import Pager

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@dataclass(eq=False, slots=True, kw_only=True)
class Item(Queued):
    text: str


def outbox(limit: int) -> Outbox[Item]:
    return Outbox(
        limit,
        lambda target, n: Item(target=target, queued_at=T0, cut=True, text=cut_text(n, "line")),
    )


def items(target: str, n: int, *, announcement: bool = False, at: int = 0) -> list[Item]:
    when = T0 + timedelta(seconds=at)
    return [
        Item(target=target, queued_at=when, announcement=announcement, text=f"{target} {i}")
        for i in range(n)
    ]


def drain(box: Outbox[Item]) -> list[str]:
    taken = []
    while (item := box.take(lambda target: True)) is not None:
        taken.append(item.text)
    return taken


def test_destinations_take_turns() -> None:
    box = outbox(1000)
    box.add(items("alice", 150))
    box.add(items("bob", 150))
    box.add(items("#ops", 2))
    order = drain(box)
    assert order[:6] == ["alice 0", "bob 0", "#ops 0", "alice 1", "bob 1", "#ops 1"]
    assert len(order) == 302 and len(box) == 0


def test_a_destination_that_may_not_be_sent_to_yet_holds_up_nobody() -> None:
    box = outbox(100)
    box.add(items("#late", 3))
    box.add(items("alice", 2))
    assert box.take(lambda target: target != "#late") is not None
    assert box.ready(lambda target: target != "#late")
    assert box.take(lambda target: target != "#late") is not None
    assert not box.ready(lambda target: target != "#late")
    assert box.peek("#late") is not None and box.peek("#late").text == "#late 0"


def test_when_full_the_longest_backlog_gives_way_and_is_told() -> None:
    box = outbox(10)
    box.add(items("#ops", 1, announcement=True))
    box.add(items("alice", 8))
    box.add(items("bob", 1))
    dropped = box.add(items("carol", 3))
    assert [d.text for d in dropped] == ["alice 7", "alice 6", "alice 5"]
    by_target: dict[str, list[str]] = {}
    for item in box:
        by_target.setdefault(item.target, []).append(item.text)
    assert by_target["alice"][-1] == (
        "… 3 lines of my answers here were dropped: more than I can send at once; "
        "ask again in a moment"
    )
    assert by_target["#ops"] == ["#ops 0"]  # the announcement stays
    assert by_target["carol"] == ["carol 0", "carol 1", "carol 2"]
    box.add(items("dave", 1))  # the note keeps one line, with the count brought up to date
    assert [i.text for i in box if i.target == "alice"][-1].startswith("… 4 lines")


def test_an_answer_too_long_for_the_outbox_loses_its_end() -> None:
    box = outbox(10)
    box.add(items("#ops", 2, announcement=True))
    dropped = box.add(items("alice", 12))
    assert len(dropped) == 4
    texts = drain(box)
    assert texts[:4] == ["#ops 0", "alice 0", "#ops 1", "alice 1"]
    assert texts[-1].startswith("… 4 lines of my answers here were dropped")


def test_announcements_go_last_and_then_oldest_first() -> None:
    box = outbox(10)
    box.add(items("#ops", 6, announcement=True, at=0))
    box.add(items("#noc", 4, announcement=True, at=1))
    assert [d.text for d in box.add(items("alice", 1))] == ["alice 0"]  # a reply gives way
    assert [d.text for d in box.add(items("#noc", 1, announcement=True, at=2))] == ["#ops 0"]


def test_long_private_answers_come_a_page_at_a_time() -> None:
    clock = FakeClock(T0)
    pager = Pager(clock, page=5)
    lines = [f"note {i}" for i in range(12)]
    assert pager.first("alice", lines) == [
        *lines[:4],
        "… 8 more lines: say !more for the next 4 (kept for 30 minutes)",
    ]
    assert pager.more("alice") == [
        *lines[4:8],
        "… 4 more lines: say !more for the next 4 (kept for 30 minutes)",
    ]
    assert pager.first("alice", ["a short answer meanwhile"]) == ["a short answer meanwhile"]
    assert pager.more("alice") == lines[8:]
    assert pager.more("alice") is None
    assert pager.first("bob", lines[:5]) == lines[:5]  # a page's worth goes whole
    assert pager.more("bob") is None


def test_what_waits_for_more_is_forgotten_after_a_while() -> None:
    clock = FakeClock(T0)
    pager = Pager(clock, page=3, prefix=".")
    assert pager.first("alice", [f"l{i}" for i in range(10)])[-1] == (
        "… 8 more lines: say .more for the next 2 (kept for 30 minutes)"
    )
    clock.set(T0 + timedelta(minutes=31))
    assert pager.more("alice") is None
