"""What a webhook's alerts do to incidents, in one transaction for the whole webhook: a
firing alert opens an incident (or, while the one it opened is open, adds to it), a
resolved one adds to it and may fix it. The incidents feature does the incident work;
this only decides which, by the alert's fingerprint (`alert_incidents`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from bot.people import PersonRef
from bot.plugin import PluginAPI
from plugins.incidents.lifecycle import Action, Status
from plugins.incidents.records import IncidentView
from plugins.incidents.service import IncidentService
from plugins.intake.alerts import Signal
from plugins.intake.settings import IntakeSettings
from plugins.models import AlertIncident, Deploy, Incident

NETWORK = "intake"  # where alerts' incidents and events say they came from
ACTOR = "alertmanager"  # who the timeline says acted
FIRING, RESOLVED = "firing", "resolved"


class Kind(StrEnum):
    OPENED = "opened"  # a new incident
    AGAIN = "again"  # firing again: an event on its open incident
    FIXED = "fixed"  # resolved, and the incident marked fixed
    RESOLVED = "resolved"  # resolved: an event on its incident
    OUTSIDE = "outside"  # no deploy under way: only announced
    IGNORED = "ignored"  # no deploy under way, or resolved without an incident
    REPEAT = "repeat"  # Alertmanager repeating what it said before


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    signal: Signal
    number: int | None = None
    incident: IncidentView | None = None  # opened or fixed: as it stands now
    still_open: bool = False  # resolved: the incident is still open


class AlertService:
    def __init__(self, api: PluginAPI, settings: IntakeSettings) -> None:
        self._api = api
        self._settings = settings
        self._incidents = IncidentService.of(api)

    async def apply(
        self, signals: Sequence[Signal], actor: PersonRef, receiver: str, now: datetime
    ) -> list[Outcome]:
        """Every alert's effect, committed together (or, on any error, none of them)."""
        room = receiver[:255] or ACTOR

        def unit(conn: Connection) -> list[Outcome]:
            active = conn.scalar(select(Deploy.id).where(Deploy.status == "active"))
            return [self._one(conn, s, actor, room, now, active is not None) for s in signals]

        return await self._api.store.write(unit)

    def _one(
        self,
        conn: Connection,
        s: Signal,
        actor: PersonRef,
        room: str,
        now: datetime,
        deploy_active: bool,
    ) -> Outcome:
        mapped = conn.execute(_MAPPED, {"fingerprint": s.fingerprint}).first()
        same = mapped is not None and mapped.starts_at == s.episode
        if mapped is not None and same and mapped.status == (FIRING if s.firing else RESOLVED):
            return Outcome(Kind.REPEAT, s, mapped.number)
        is_open = mapped is not None and Status(mapped.incident_status).is_open
        if s.firing and mapped is not None and is_open:
            return self._again(conn, s, mapped, actor, room, now)
        if s.firing:
            if not deploy_active and self._settings.outside_deploy != "open":
                return Outcome(_outside(self._settings), s)
            return self._open(conn, s, mapped, actor, room, now)
        if mapped is None or not same:
            outside = not deploy_active and self._settings.outside_deploy == "announce"
            return Outcome(Kind.OUTSIDE if outside and mapped is None else Kind.IGNORED, s)
        return self._resolve(conn, s, mapped, actor, room, now, is_open)

    def _open(
        self,
        conn: Connection,
        s: Signal,
        mapped: Row[Any] | None,
        actor: PersonRef,
        room: str,
        now: datetime,
    ) -> Outcome:
        view = self._incidents.reporting(
            s.service, s.summary, s.severity, actor, NETWORK, room, s.starts_at
        )(conn)
        incident_id = conn.scalar(select(Incident.id).where(Incident.number == view.number))
        row = {"incident_id": incident_id, "starts_at": s.episode, "status": FIRING}
        if mapped is None:
            conn.execute(
                insert(AlertIncident), {**row, "fingerprint": s.fingerprint, "updated_at": now}
            )
        else:
            _remap(conn, mapped.id, {**row, "updated_at": now})
        return Outcome(Kind.OPENED, s, view.number, view)

    def _again(
        self,
        conn: Connection,
        s: Signal,
        mapped: Row[Any],
        actor: PersonRef,
        room: str,
        now: datetime,
    ) -> Outcome:
        detail = f"{s.name} firing again"
        self._event(conn, mapped.number, Action.ALERT, actor, s.starts_at, room, detail)
        _remap(conn, mapped.id, {"starts_at": s.episode, "status": FIRING, "updated_at": now})
        return Outcome(Kind.AGAIN, s, mapped.number)

    def _resolve(
        self,
        conn: Connection,
        s: Signal,
        mapped: Row[Any],
        actor: PersonRef,
        room: str,
        now: datetime,
        is_open: bool,
    ) -> Outcome:
        at = s.ends_at or now
        _remap(conn, mapped.id, {"status": RESOLVED, "updated_at": now})
        if is_open and self._settings.resolve == "fix":
            change = self._event(
                conn, mapped.number, Action.FIX, actor, at, room, f"resolved by {ACTOR}"
            )
            return Outcome(Kind.FIXED, s, mapped.number, change)
        self._event(conn, mapped.number, Action.ALERT, actor, at, room, f"{s.name} resolved")
        return Outcome(Kind.RESOLVED, s, mapped.number, still_open=is_open)

    def _event(
        self,
        conn: Connection,
        number: int,
        action: Action,
        actor: PersonRef,
        at: datetime,
        room: str,
        detail: str,
    ) -> IncidentView:
        unit = self._incidents.acting(
            number, action, actor, at, network=NETWORK, room=room, detail=detail
        )
        return unit(conn).incident


def _outside(settings: IntakeSettings) -> Kind:
    return Kind.OUTSIDE if settings.outside_deploy == "announce" else Kind.IGNORED


def _remap(conn: Connection, mapping_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(AlertIncident).where(AlertIncident.id == mapping_id).values(values))


# the incident an alert's fingerprint opened, locked, with that incident's number and state
_MAPPED = (
    select(
        AlertIncident.id,
        AlertIncident.starts_at,
        AlertIncident.status,
        Incident.number,
        Incident.status.label("incident_status"),
    )
    .join(Incident, Incident.id == AlertIncident.incident_id)
    .where(AlertIncident.fingerprint == bindparam("fingerprint"))
    .with_for_update(of=AlertIncident)
)
