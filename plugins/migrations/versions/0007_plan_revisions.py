"""plan revisions: each change to a planned deploy counted, for the calendar feed

Revision ID: dd_0007
Revises: dd_0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "dd_0007"
down_revision = "dd_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deploy_plans") as batch:
        batch.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("changed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deploy_plans") as batch:
        batch.drop_column("changed_at")
        batch.drop_column("revision")
