"""deploy-day tables: deploys, roster, duty shifts, incidents, incident events

Revision ID: dd_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "dd_0001"
down_revision = None
branch_labels = ("deployday",)
depends_on = "core_0001"

ACTIVE = sa.text("status = 'active'")
OPEN_SHIFT = sa.text("off_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "deploys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("api_break", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["started_by"], ["people.id"], name=op.f("fk_deploys_started_by_people")
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["people.id"], name=op.f("fk_deploys_lead_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploys")),
    )
    op.create_index(op.f("ix_deploys_name"), "deploys", ["name"])
    op.create_index(
        "uq_deploys_one_active",
        "deploys",
        ["status"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )

    op.create_table(
        "roster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            ondelete="CASCADE",
            name=op.f("fk_roster_person_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["people.id"], name=op.f("fk_roster_added_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster")),
        sa.UniqueConstraint("person_id", "team", name=op.f("uq_roster_person_id")),
    )
    op.create_index(op.f("ix_roster_person_id"), "roster", ["person_id"])

    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=True),
        sa.Column("on_at", UTCDateTime(), nullable=False),
        sa.Column("off_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            ondelete="CASCADE",
            name=op.f("fk_duty_shifts_person_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["deploy_id"], ["deploys.id"], name=op.f("fk_duty_shifts_deploy_id_deploys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shifts")),
    )
    op.create_index(op.f("ix_duty_shifts_person_id"), "duty_shifts", ["person_id"])
    op.create_index(
        "uq_duty_shifts_one_open",
        "duty_shifts",
        ["person_id"],
        unique=True,
        sqlite_where=OPEN_SHIFT,
        postgresql_where=OPEN_SHIFT,
    )

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("source_network", sa.String(32), nullable=False),
        sa.Column("source_room", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deploy_id"], ["deploys.id"], name=op.f("fk_incidents_deploy_id_deploys")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["people.id"], name=op.f("fk_incidents_reporter_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["people.id"], name=op.f("fk_incidents_owner_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("number", name=op.f("uq_incidents_number")),
    )
    for column in ("deploy_id", "service", "status", "owner_id", "created_at"):
        op.create_index(op.f(f"ix_incidents_{column}"), "incidents", [column])

    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("other_number", sa.Integer(), nullable=True),
        sa.Column("network", sa.String(32), nullable=True),
        sa.Column("room", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            ondelete="CASCADE",
            name=op.f("fk_incident_events_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["people.id"], name=op.f("fk_incident_events_actor_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["people.id"], name=op.f("fk_incident_events_target_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index(
        "ix_incident_events_incident_kind_at", "incident_events", ["incident_id", "kind", "at"]
    )


def downgrade() -> None:
    op.drop_table("incident_events")
    op.drop_table("incidents")
    op.drop_table("duty_shifts")
    op.drop_table("roster")
    op.drop_table("deploys")
