"""identities: nicks compared the network's way; links and unlinks recorded; the stored
`authenticated` flag dropped (each message says whether its sender is logged in)

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from bot.casemapping import fold
from bot.store.types import UTCDateTime

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None

_identities = sa.table(
    "identities",
    sa.column("id", sa.Integer()),
    sa.column("key", sa.String()),
    sa.column("nick", sa.String()),
    sa.column("nick_folded", sa.String()),
)


def _folded(key: str, nick: str) -> str:
    """As the bot folds nicks: Matrix display names case-insensitively, IRC nicks by
    rfc1459 (the default; a server's own casemapping is applied when they next speak)."""
    return nick.casefold() if key.startswith("@") and ":" in key else fold(nick)


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("nick_folded", sa.String(255), nullable=True))
    conn = op.get_bind()
    for row in conn.execute(sa.select(_identities.c.id, _identities.c.key, _identities.c.nick)):
        conn.execute(
            _identities.update()
            .where(_identities.c.id == row.id)
            .values(nick_folded=_folded(row.key, row.nick))
        )
    with op.batch_alter_table("identities") as batch:
        batch.alter_column("nick_folded", existing_type=sa.String(255), nullable=False)
        batch.drop_column("authenticated")
        batch.create_index("ix_identities_network_nick_folded", ["network", "nick_folded"])
    op.create_table(
        "identity_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("identity", sa.String(300), nullable=False),
        sa.Column("other", sa.String(300), nullable=True),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            ondelete="CASCADE",
            name=op.f("fk_identity_links_person_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_links")),
    )
    op.create_index(op.f("ix_identity_links_person_id"), "identity_links", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_links_person_id"), table_name="identity_links")
    op.drop_table("identity_links")
    with op.batch_alter_table("identities") as batch:
        batch.drop_index("ix_identities_network_nick_folded")
        batch.add_column(
            sa.Column("authenticated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.drop_column("nick_folded")
