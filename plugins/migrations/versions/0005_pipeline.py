"""the deploy pipeline: deployments, alerts' incidents, changes the command line made

Revision ID: dd_0005
Revises: dd_0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "dd_0005"
down_revision = "dd_0004"
branch_labels = None
depends_on = None

UNCLAIMED = sa.text("claimed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("version", sa.String(128), nullable=True),
        sa.Column("environment", sa.String(32), nullable=True),
        sa.Column("who", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["deploy_id"], ["deploys.id"], name=op.f("fk_deployments_deploy_id_deploys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    op.create_index(op.f("ix_deployments_at"), "deployments", ["at"])
    op.create_index(op.f("ix_deployments_deploy_id"), "deployments", ["deploy_id"])
    op.create_index("ix_deployments_service_at", "deployments", ["service", "at"])

    op.create_table(
        "alert_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            ondelete="CASCADE",
            name=op.f("fk_alert_incidents_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_incidents")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_alert_incidents_fingerprint")),
    )
    op.create_index(op.f("ix_alert_incidents_incident_id"), "alert_incidents", ["incident_id"])

    op.create_table(
        "pipeline_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_notices")),
    )
    op.create_index(
        "ix_pipeline_notices_unclaimed",
        "pipeline_notices",
        ["id"],
        sqlite_where=UNCLAIMED,
        postgresql_where=UNCLAIMED,
    )


def downgrade() -> None:
    op.drop_index("ix_pipeline_notices_unclaimed", table_name="pipeline_notices")
    op.drop_table("pipeline_notices")
    op.drop_table("alert_incidents")
    op.drop_table("deployments")
