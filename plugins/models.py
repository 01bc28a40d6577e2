"""Tables of the deploy-day features. Incidents keep their current state in one row and
their history in an append-only event log; metrics are computed from the log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
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
    # from its plan or `--env`; an incident on staging during production is flagged
    environment: Mapped[str | None] = mapped_column(String(32))


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
    # who was hit (`--consumer`), and what the catalogue and the deploy said at the report
    consumer: Mapped[str | None] = mapped_column(String(64))
    consumer_known: Mapped[bool | None] = mapped_column()
    staging_mixup: Mapped[bool] = mapped_column(default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer)
    # derived from the event log (metrics.stats.first_response / last_fix), written in the
    # transaction that appends the event, so MTTA/MTTR need not scan the log
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

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


class Page(Base):
    """A `!page`: who paged which team or person, when, and why; kept for the digest's
    timeline (the page itself is only a chat line)."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    target: Mapped[str] = mapped_column(String(64))  # the team, or the person as shown
    message: Mapped[str | None] = mapped_column(Text)


class DeployPlan(Base):
    """A deploy announced ahead of time. `!deploy start <name>` picks up the one planned
    under that name; `armed_at` is when its current time was announced (T-minus reminders
    whose moment had passed by then are not sent)."""

    __tablename__ = "deploy_plans"
    __table_args__ = (
        Index(
            "uq_deploy_plans_one_planned_name",
            "name",
            unique=True,
            sqlite_where=text("status = 'planned'"),
            postgresql_where=text("status = 'planned'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(64))
    environment: Mapped[str] = mapped_column(String(32))
    api_break: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text)
    planned_for: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    moved_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)  # planned | started | cancelled
    armed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # planned | moved | cancelled: a change made offline (CLI) the bot has yet to announce
    pending_notice: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deploy_id: Mapped[int | None] = mapped_column(ForeignKey("deploys.id"), index=True)
    responders_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Each change a calendar shows (moved, cancelled, responders named) counts one, so a
    # subscribed calendar replaces its copy of the event (SEQUENCE, LAST-MODIFIED).
    revision: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PlanNotice(Base):
    """A T-minus announcement that went out, so a restart or a second instance never
    repeats it. Keyed by the plan's time, so moving a plan arms its reminders again."""

    __tablename__ = "plan_notices"
    __table_args__ = (UniqueConstraint("plan_id", "kind", "planned_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("deploy_plans.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # the offset: 7d, 1d, 1h, …
    planned_for: Mapped[datetime] = mapped_column(UTCDateTime())
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExpectedResponder(Base):
    """Someone (a person or a whole team) who should be reachable during a planned deploy."""

    __tablename__ = "expected_responders"
    __table_args__ = (
        UniqueConstraint("plan_id", "person_id", name="uq_expected_responders_plan_person"),
        UniqueConstraint("plan_id", "team", name="uq_expected_responders_plan_team"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("deploy_plans.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    team: Mapped[str | None] = mapped_column(String(32))
    added_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CatalogConsumer(Base):
    """A consumer of a service found on the day (`!catalog add-consumer`), merged with the
    consumers the config lists, so the next API break pages its team."""

    __tablename__ = "catalog_consumers"
    __table_args__ = (UniqueConstraint("service", "consumer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(64))
    consumer: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Deployment(Base):
    """A service deployed somewhere, as the pipeline reports it (`POST /deployments`,
    `deployday deploy record`), on a deploy day or not: the changes that change-failure
    figures count. `deploy_id` is the deploy day under way when it was recorded."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_service_at", "service", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(128))
    environment: Mapped[str | None] = mapped_column(String(32))
    who: Mapped[str | None] = mapped_column(String(64))  # as the pipeline named them
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    deploy_id: Mapped[int | None] = mapped_column(ForeignKey("deploys.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # http | cli


class AlertIncident(Base):
    """The incident an Alertmanager alert opened, by the alert's fingerprint: while that
    incident is open, the alert firing again adds to it instead of opening another.
    `starts_at` tells a new firing of the alert from Alertmanager repeating the last one."""

    __tablename__ = "alert_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PipelineNotice(Base):
    """A change the command line made (a deploy started or ended, a deployment recorded)
    for the running bot to announce and tell the other features about; the bot claims it
    within seconds (plugins.intake)."""

    __tablename__ = "pipeline_notices"
    __table_args__ = (
        Index(
            "ix_pipeline_notices_unclaimed",
            "id",
            sqlite_where=text("claimed_at IS NULL"),
            postgresql_where=text("claimed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # started | ended | deployment
    subject_id: Mapped[int] = mapped_column(Integer)  # the deploy's or deployment's id
    detail: Mapped[str | None] = mapped_column(Text)  # JSON the announcement needs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
