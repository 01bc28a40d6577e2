"""How each incident ended, in words a postmortem keeps, and where duplicates sit: under
the incident they duplicate, never counted on their own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TypeVar

from plugins.digest.facts import EventFacts, IncidentFacts
from plugins.incidents.lifecycle import Action, Status

STILL_OPEN = "still open"

R = TypeVar("R")


def counted(i: IncidentFacts) -> bool:
    """Whether an incident counts in the figures: a duplicate is its original's."""
    return i.status is not Status.DUPLICATE


def resolution(i: IncidentFacts, events: Sequence[EventFacts]) -> str:
    """Fixed (by whom, with the note of the fix that stands), closed otherwise, a
    duplicate of which incident, or still open."""
    if i.status.is_open:
        return STILL_OPEN
    if i.status is Status.DUPLICATE:
        return f"duplicate of #{i.duplicate_of}" if i.duplicate_of else "duplicate"
    action = Action.FIX if i.status is Status.FIXED else Action.WONTFIX
    last = next((e.view for e in reversed(events) if e.view.kind is action), None)
    verb = "fixed" if action is Action.FIX else "won't fix"
    if last is None:
        return verb
    who, note = last.actor, last.detail
    if note and who and note.endswith(f"by {who}"):  # "resolved by alertmanager"
        return note
    said = f"{verb} by {who}" if who else verb
    return f"{said}: {note}" if note else said


def nested(
    rows: Sequence[R], number: Callable[[R], int], original: Callable[[R], int | None]
) -> list[R]:
    """`rows` (in number order) with each duplicate moved right under the incident it
    duplicates, when that one is among them; the rest stay where they were."""
    present = {number(r) for r in rows}
    under: dict[int, list[R]] = defaultdict(list)
    for r in rows:
        of = original(r)
        if of is not None and of in present and of != number(r):
            under[of].append(r)
    placed: list[R] = []
    seen: set[int] = set()

    def place(r: R) -> None:
        if number(r) in seen:
            return
        seen.add(number(r))
        placed.append(r)
        for child in under.get(number(r), ()):
            place(child)

    for r in rows:
        of = original(r)
        if of is None or of not in present:
            place(r)
    for r in rows:  # duplicates of each other in a ring: none is an original
        place(r)
    return placed
