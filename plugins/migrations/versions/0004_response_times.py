"""incidents keep their first response and last fix times, derived from the event log in
the transaction that writes the event; existing incidents get them from their events

Revision ID: dd_0004
Revises: dd_0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "dd_0004"
down_revision = "dd_0003"
branch_labels = None
depends_on = None

# the kinds that end the time-to-acknowledge clock, and the fix, as of this revision
RESPONSES = ("acked", "taken", "assigned", "fixed", "wontfix", "duplicate")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("acknowledged_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("fixed_at", UTCDateTime(), nullable=True))
    kinds = ", ".join(f"'{k}'" for k in RESPONSES)
    op.execute(
        "UPDATE incidents SET "
        "acknowledged_at = (SELECT min(e.at) FROM incident_events e "
        f"WHERE e.incident_id = incidents.id AND e.kind IN ({kinds})), "
        "fixed_at = (SELECT max(e.at) FROM incident_events e "
        "WHERE e.incident_id = incidents.id AND e.kind = 'fixed')"
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("fixed_at")
        batch.drop_column("acknowledged_at")
