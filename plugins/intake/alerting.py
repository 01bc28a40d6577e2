"""What a webhook's alerts do to incidents, in one transaction for the whole webhook: a
firing alert opens an incident (or, while the one it opened is open, adds to it), a
resolved one adds to it and may fix it. The incidents feature does the incident work;
this only decides which, by the alert's fingerprint (`alert_incidents`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, bindparam, insert, select, update

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

    async def apply(
        self, signals: Sequence[Signal], actor: PersonRef, receiver: str, now: datetime
    ) -> list[Outcome]:
        """Every alert's effect, committed together (or, on any error, none of them)."""
        incidents = IncidentService.of(self._api)
        room = receiver[:255] or ACTOR

        def unit(conn: Connection) -> list[Outcome]:
            batch = _Batch(conn, incidents, self._settings, actor, room, now)
            batch.load({s.fingerprint for s in signals})
            outcomes = [batch.one(s) for s in signals]
            batch.save()
            return outcomes

        return await self._api.store.write(unit)


@dataclass(slots=True)
class _Known:
    """A fingerprint's incident, as read at the start of the webhook and as it changes."""

    id: int | None  # its alert_incidents row; None until saved
    number: int
    incident_open: bool
    starts_at: datetime
    status: str
    changed: bool = False


class _Batch:
    """One webhook's alerts inside its transaction: the fingerprints' incidents are read
    in one statement up front and written back in two at the end, so a storm of alerts
    costs the incident work and little more."""

    def __init__(
        self,
        conn: Connection,
        incidents: IncidentService,
        settings: IntakeSettings,
        actor: PersonRef,
        room: str,
        now: datetime,
    ) -> None:
        self._conn = conn
        self._incidents = incidents
        self._settings = settings
        self._actor = actor
        self._room = room
        self._now = now
        self._deploy = conn.scalar(select(Deploy.id).where(Deploy.status == "active"))
        self._known: dict[str, _Known] = {}

    def load(self, fingerprints: set[str]) -> None:
        rows = self._conn.execute(_MAPPED.where(AlertIncident.fingerprint.in_(fingerprints)))
        for r in rows:
            is_open = Status(r.incident_status).is_open
            self._known[r.fingerprint] = _Known(r.id, r.number, is_open, r.starts_at, r.status)

    def one(self, s: Signal) -> Outcome:
        known = self._known.get(s.fingerprint)
        same = known is not None and known.starts_at == s.episode
        if known is not None and same and known.status == (FIRING if s.firing else RESOLVED):
            return Outcome(Kind.REPEAT, s, known.number)
        if s.firing and known is not None and known.incident_open:
            return self._again(s, known)
        rule = self._settings.outside_deploy
        if s.firing and self._deploy is None and rule != "open":
            return Outcome(Kind.OUTSIDE if rule == "announce" else Kind.IGNORED, s)
        if s.firing:
            return self._open(s, known)
        if known is None or not same:
            outside = known is None and self._deploy is None and rule == "announce"
            return Outcome(Kind.OUTSIDE if outside else Kind.IGNORED, s)
        return self._resolve(s, known)

    def _open(self, s: Signal, known: _Known | None) -> Outcome:
        view = self._incidents.reporting(
            s.service, s.summary, s.severity, self._actor, NETWORK, self._room, s.starts_at
        )(self._conn)
        self._known[s.fingerprint] = _Known(
            known.id if known else None, view.number, True, s.episode, FIRING, changed=True
        )
        return Outcome(Kind.OPENED, s, view.number, view)

    def _again(self, s: Signal, known: _Known) -> Outcome:
        self._event(known.number, Action.ALERT, s.starts_at, f"{s.name} firing again")
        known.starts_at, known.status, known.changed = s.episode, FIRING, True
        return Outcome(Kind.AGAIN, s, known.number)

    def _resolve(self, s: Signal, known: _Known) -> Outcome:
        at = s.ends_at or self._now
        known.status, known.changed = RESOLVED, True
        if known.incident_open and self._settings.resolve == "fix":
            fixed = self._event(known.number, Action.FIX, at, f"resolved by {ACTOR}")
            known.incident_open = False
            return Outcome(Kind.FIXED, s, known.number, fixed)
        self._event(known.number, Action.ALERT, at, f"{s.name} resolved")
        return Outcome(Kind.RESOLVED, s, known.number, still_open=known.incident_open)

    def _event(self, number: int, action: Action, at: datetime, detail: str) -> IncidentView:
        unit = self._incidents.acting(
            number, action, self._actor, at, network=NETWORK, room=self._room, detail=detail
        )
        return unit(self._conn).incident

    def save(self) -> None:
        """Write back what changed: new fingerprints in one statement, changed in another."""
        changed = [(fp, k) for fp, k in self._known.items() if k.changed]
        new = [
            {"fp": fp, "number": k.number, "starts": k.starts_at, "status": k.status}
            for fp, k in changed
            if k.id is None
        ]
        old = [
            {"row": k.id, "number": k.number, "starts": k.starts_at, "status": k.status}
            for _, k in changed
            if k.id is not None
        ]
        if new:
            self._conn.execute(_INSERT.values(updated_at=self._now), new)
        if old:
            self._conn.execute(_UPDATE.values(updated_at=self._now), old)


_INCIDENT_ID = select(Incident.id).where(Incident.number == bindparam("number")).scalar_subquery()
_INSERT = insert(AlertIncident).values(
    fingerprint=bindparam("fp"),
    incident_id=_INCIDENT_ID,
    starts_at=bindparam("starts"),
    status=bindparam("status"),
)
_UPDATE = (
    update(AlertIncident)
    .where(AlertIncident.id == bindparam("row"))
    .values(incident_id=_INCIDENT_ID, starts_at=bindparam("starts"), status=bindparam("status"))
)
# the incidents fingerprints opened, locked, with their numbers and states
_MAPPED = (
    select(
        AlertIncident.id,
        AlertIncident.fingerprint,
        AlertIncident.starts_at,
        AlertIncident.status,
        Incident.number,
        Incident.status.label("incident_status"),
    )
    .join(Incident, Incident.id == AlertIncident.incident_id)
    .with_for_update(of=AlertIncident)
)
