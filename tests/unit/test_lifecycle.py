"""Every incident transition, allowed or refused."""

from __future__ import annotations

import pytest

from plugins.incidents.lifecycle import Action, Refused, State, Status, apply

ME, YOU = 1, 2
OPEN = State(Status.OPEN, None)
MINE = State(Status.ACKNOWLEDGED, ME)
ACKED = State(Status.ACKNOWLEDGED, None)
FIXED = State(Status.FIXED, ME)


@pytest.mark.parametrize(
    ("before", "action", "target", "after"),
    [
        (OPEN, Action.ACK, None, ACKED),
        (OPEN, Action.TAKE, None, MINE),
        (ACKED, Action.TAKE, None, MINE),
        (OPEN, Action.ASSIGN, YOU, State(Status.ACKNOWLEDGED, YOU)),
        (MINE, Action.ASSIGN, YOU, State(Status.ACKNOWLEDGED, YOU)),
        (OPEN, Action.FIX, None, State(Status.FIXED, None)),
        (MINE, Action.FIX, None, FIXED),
        (MINE, Action.WONTFIX, None, State(Status.WONTFIX, ME)),
        (OPEN, Action.DUPLICATE, None, State(Status.DUPLICATE, None)),
        (FIXED, Action.REOPEN, None, MINE),
        (State(Status.FIXED, None), Action.REOPEN, None, OPEN),
        (State(Status.WONTFIX, None), Action.REOPEN, None, OPEN),
        (FIXED, Action.NOTE, None, FIXED),
        (FIXED, Action.SEVERITY, None, FIXED),
        (OPEN, Action.NOTE, None, OPEN),
    ],
)
def test_allowed(before: State, action: Action, target: int | None, after: State) -> None:
    assert apply(before, action, ME, target) == after


@pytest.mark.parametrize(
    ("before", "action", "target", "reason"),
    [
        (ACKED, Action.ACK, None, "is already acknowledged"),
        (MINE, Action.TAKE, None, "is already yours"),
        (State(Status.ACKNOWLEDGED, YOU), Action.TAKE, None, "is owned by someone else"),
        (State(Status.ACKNOWLEDGED, YOU), Action.ASSIGN, YOU, "is already owned by them"),
        (FIXED, Action.FIX, None, "is already fixed"),
        (FIXED, Action.TAKE, None, "is already fixed"),
        (FIXED, Action.ACK, None, "is already fixed"),
        (State(Status.WONTFIX, None), Action.FIX, None, "was closed as won't fix"),
        (State(Status.DUPLICATE, None), Action.ASSIGN, YOU, "was closed as a duplicate"),
        (OPEN, Action.REOPEN, None, "is still open"),
        (MINE, Action.REOPEN, None, "is still open"),
    ],
)
def test_refused(before: State, action: Action, target: int | None, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        apply(before, action, ME, target)


def test_statuses_read_well() -> None:
    assert [s.label for s in Status] == ["open", "acknowledged", "fixed", "won't fix", "duplicate"]
    assert [s.is_open for s in Status] == [True, True, False, False, False]
