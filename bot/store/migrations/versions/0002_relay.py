"""relay: announcements travelling between instances that share the database

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("network", sa.String(32), nullable=False),
        sa.Column("origin_network", sa.String(32), nullable=True),
        sa.Column("origin_room", sa.String(255), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay")),
    )
    op.create_index("ix_relay_network_delivered", "relay", ["network", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_relay_network_delivered", table_name="relay")
    op.drop_table("relay")
