"""The incident state machine, free of storage and chat so every rule is unit-testable."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    FIXED = "fixed"
    WONTFIX = "wontfix"
    DUPLICATE = "duplicate"

    @property
    def is_open(self) -> bool:
        return self in (Status.OPEN, Status.ACKNOWLEDGED)

    @property
    def label(self) -> str:
        return {"wontfix": "won't fix"}.get(self.value, self.value)


class Action(StrEnum):
    """Also the `kind` of the event each action appends to the log."""

    REPORT = "reported"
    ACK = "acked"
    TAKE = "taken"
    ASSIGN = "assigned"
    NOTE = "note"
    SEVERITY = "severity"
    FIX = "fixed"
    REOPEN = "reopened"
    WONTFIX = "wontfix"
    DUPLICATE = "duplicate"
    FOLLOWUP = "followup"  # something to do after the day; listed in the digest
    ALERT = "alert"  # what the alert that opened it says since: firing again, resolved


# Actions that show a responder has looked at the incident: the first one ends the
# time-to-acknowledge clock.
RESPONSES = (Action.ACK, Action.TAKE, Action.ASSIGN, Action.FIX, Action.WONTFIX, Action.DUPLICATE)


def times_after(
    acknowledged_at: datetime | None, fixed_at: datetime | None, action: Action, at: datetime
) -> tuple[datetime | None, datetime | None]:
    """An incident's first response and last fix (metrics.stats.first_response and
    last_fix over its event log) once an `action` event at `at` joins the log, from their
    values before it; stored with the incident in the transaction that appends the event
    (a property test recomputes them from the log)."""
    if action in RESPONSES and (acknowledged_at is None or at < acknowledged_at):
        acknowledged_at = at
    if action is Action.FIX and (fixed_at is None or at > fixed_at):
        fixed_at = at
    return acknowledged_at, fixed_at


class Refused(Exception):
    """The action makes no sense in the incident's current state; says why and what to do."""


@dataclass(frozen=True, slots=True)
class State:
    status: Status
    owner_id: int | None


def apply(state: State, action: Action, actor_id: int, target_id: int | None = None) -> State:
    """The state after `action`, or `Refused` with a reason fit to show the person."""
    if action in (Action.NOTE, Action.SEVERITY, Action.FOLLOWUP, Action.ALERT):
        return state
    if action is Action.REOPEN:
        if state.status.is_open:
            raise Refused("is still open")
        return State(Status.ACKNOWLEDGED if state.owner_id else Status.OPEN, state.owner_id)
    if not state.status.is_open:
        raise Refused(_closed_reason(state.status))
    if action is Action.ACK:
        if state.status is Status.ACKNOWLEDGED:
            raise Refused("is already acknowledged")
        return replace(state, status=Status.ACKNOWLEDGED)
    if action is Action.TAKE:
        if state.owner_id == actor_id:
            raise Refused("is already yours")
        if state.owner_id is not None:
            # taking over is explicit (!assign), so two people racing to take an incident
            # cannot silently overwrite each other: the second is told
            raise Refused("is owned by someone else")
        return State(Status.ACKNOWLEDGED, actor_id)
    if action is Action.ASSIGN:
        if target_id is None:
            raise ValueError("assign needs a target")
        if state.owner_id == target_id:
            raise Refused("is already owned by them")
        return State(Status.ACKNOWLEDGED, target_id)
    if action is Action.FIX:
        return replace(state, status=Status.FIXED)
    if action is Action.WONTFIX:
        return replace(state, status=Status.WONTFIX)
    if action is Action.DUPLICATE:
        return replace(state, status=Status.DUPLICATE)
    raise ValueError(f"not a state-changing action: {action}")


def _closed_reason(status: Status) -> str:
    return {
        Status.FIXED: "is already fixed",
        Status.WONTFIX: "was closed as won't fix",
        Status.DUPLICATE: "was closed as a duplicate",
    }[status]
