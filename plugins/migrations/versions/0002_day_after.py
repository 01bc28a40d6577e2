"""the day after: incident environments, reminders sent

Revision ID: dd_0002
Revises: dd_0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "dd_0002"
down_revision = "dd_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("environment", sa.String(32), nullable=True))
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            ondelete="CASCADE",
            name=op.f("fk_reminders_sent_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders_sent")),
    )
    op.create_index(
        "ix_reminders_sent_incident_kind_at", "reminders_sent", ["incident_id", "kind", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_reminders_sent_incident_kind_at", table_name="reminders_sent")
    op.drop_table("reminders_sent")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("environment")
