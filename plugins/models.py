"""Tables of the deploy-day features. Incidents keep their current state in one row and
their history in an append-only event log; metrics are computed from the log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base
from bot.store.types import UTCDateTime


class Deploy(Base):
    __tablename__ = "deploys"
    __table_args__ = (
        # at most one active deploy, enforced by the database even across processes
        Index(
            "uq_deploys_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    api_break: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # active | ended
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class RosterEntry(Base):
    """Who is planned to be reachable for a team; admins manage it."""

    __tablename__ = "roster"
    __table_args__ = (UniqueConstraint("person_id", "team"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    team: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DutyShift(Base):
    """One stretch on duty: `off_at` is empty while the person is checked in."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        Index(
            "uq_duty_shifts_one_open",
            "person_id",
            unique=True,
            sqlite_where=text("off_at IS NULL"),
            postgresql_where=text("off_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    team: Mapped[str] = mapped_column(String(32))
    deploy_id: Mapped[int | None] = mapped_column(ForeignKey("deploys.id"))
    on_at: Mapped[datetime] = mapped_column(UTCDateTime())
    off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    deploy_id: Mapped[int | None] = mapped_column(ForeignKey("deploys.id"), index=True)
    service: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str | None] = mapped_column(String(32))  # production, staging, …
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_network: Mapped[str] = mapped_column(String(32))
    source_room: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class IncidentEvent(Base):
    """Append-only: who did what to which incident, when, and where."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_kind_at", "incident_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[int | None] = mapped_column(Integer)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    other_number: Mapped[int | None] = mapped_column(Integer)
    network: Mapped[str | None] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(255))


class ReminderSent(Base):
    """A reminder the bot posted, so "one per incident per interval" holds across restarts.
    `incident_id` is empty for the one-line "nobody is on duty" notice."""

    __tablename__ = "reminders_sent"
    __table_args__ = (Index("ix_reminders_sent_incident_kind_at", "incident_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # unowned | idle | stale | nobody
    at: Mapped[datetime] = mapped_column(UTCDateTime())
