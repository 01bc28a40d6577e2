"""pages: who paged whom and when, for the digest's timeline

Revision ID: dd_0006
Revises: dd_0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "dd_0006"
down_revision = "dd_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["by_id"], ["people.id"], name=op.f("fk_pages_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
    )
    op.create_index(op.f("ix_pages_at"), "pages", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pages_at"), table_name="pages")
    op.drop_table("pages")
