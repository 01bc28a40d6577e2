"""Which reminders are due, claimed and recorded in one transaction, so a restart (or a
second instance) never repeats one within its interval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, type_coerce
from sqlalchemy.orm import aliased

from bot.plugin import PluginAPI
from bot.store import Person, Store
from bot.store.types import UTCDateTime
from plugins.incidents.lifecycle import Status
from plugins.models import Deploy, Incident, IncidentEvent, ReminderSent
from plugins.reminders.rules import Due, Kind, OpenIncident, Policy, due, nobody_notice_due
from plugins.roster.service import Shift, shifts_on_duty


@dataclass(frozen=True, slots=True)
class Round:
    """What one check decided: reminders to post (already recorded as sent), and how many
    were held back because nobody is on duty (`notice`: say so now)."""

    reminders: list[Due]
    on_duty: list[Shift]
    withheld: int = 0
    notice: bool = False


class ReminderService:
    def __init__(self, store: Store) -> None:
        self._store = store

    @staticmethod
    def of(api: PluginAPI) -> ReminderService:
        """The app's one ReminderService."""
        return api.shared(_reminder_service)

    async def claim(self, policy: Policy, now: datetime) -> Round | None:
        """Decide and record this round's reminders; None when no deploy is under way."""

        def unit(conn: Connection) -> Round | None:
            deploy = conn.execute(
                select(Deploy.id).where(Deploy.status == "active").with_for_update()
            ).scalar_one_or_none()
            if deploy is None:
                return None
            dues = due(_open_incidents(conn), policy, now)
            if not dues:
                return Round([], [])
            shifts = shifts_on_duty(conn)
            if not shifts:
                last = conn.scalar(
                    select(type_coerce(func.max(ReminderSent.at), UTCDateTime())).where(
                        ReminderSent.kind == Kind.NOBODY.value
                    )
                )
                notice = nobody_notice_due(last, policy, now)
                if notice:
                    conn.execute(
                        insert(ReminderSent).values(
                            incident_id=None, kind=Kind.NOBODY.value, at=now
                        )
                    )
                return Round([], [], withheld=len(dues), notice=notice)
            conn.execute(
                insert(ReminderSent),
                [{"incident_id": d.incident.id, "kind": d.kind.value, "at": now} for d in dues],
            )
            return Round(dues, shifts)

        return await self._store.write(unit)


def _reminder_service(api: PluginAPI) -> ReminderService:
    return ReminderService(api.store)


def _open_incidents(conn: Connection) -> list[OpenIncident]:
    ev = aliased(IncidentEvent)
    last_activity = (
        select(type_coerce(func.max(ev.at), UTCDateTime()))
        .where(ev.incident_id == Incident.id)
        .scalar_subquery()
    )
    owner = aliased(Person)
    rows = conn.execute(
        select(
            Incident.id,
            Incident.number,
            Incident.service,
            Incident.severity,
            Incident.summary,
            Incident.status,
            Incident.owner_id,
            owner.name.label("owner"),
            Incident.created_at,
            last_activity.label("last_activity"),
        )
        .outerjoin(owner, owner.id == Incident.owner_id)
        .where(Incident.status.in_([Status.OPEN.value, Status.ACKNOWLEDGED.value]))
        .order_by(Incident.number)
    ).all()
    if not rows:
        return []
    sent: dict[int, dict[Kind, datetime]] = {}
    for incident_id, kind, at in conn.execute(
        select(
            ReminderSent.incident_id,
            ReminderSent.kind,
            type_coerce(func.max(ReminderSent.at), UTCDateTime()),
        )
        .where(ReminderSent.incident_id.in_([r.id for r in rows]))
        .group_by(ReminderSent.incident_id, ReminderSent.kind)
    ):
        sent.setdefault(incident_id, {})[Kind(kind)] = at
    return [
        OpenIncident(
            id=r.id,
            number=r.number,
            service=r.service,
            severity=r.severity,
            summary=r.summary,
            status=Status(r.status),
            owner_id=r.owner_id,
            owner=r.owner,
            reported_at=r.created_at,
            last_activity=r.last_activity or r.created_at,
            last_sent=sent.get(r.id, {}),
        )
        for r in rows
    ]
