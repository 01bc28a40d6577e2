"""deploy-day policy: planned deploys and their T-minus notices, expected responders,
consumers found on the day, and the context an incident was reported in

Revision ID: dd_0003
Revises: dd_0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "dd_0003"
down_revision = "dd_0002"
branch_labels = None
depends_on = None

PLANNED = sa.text("status = 'planned'")


def upgrade() -> None:
    with op.batch_alter_table("deploys") as batch:
        batch.add_column(sa.Column("environment", sa.String(32), nullable=True))
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("consumer", sa.String(64), nullable=True))
        batch.add_column(sa.Column("consumer_known", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("staging_mixup", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        "deploy_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("api_break", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("planned_for", UTCDateTime(), nullable=False),
        sa.Column("moved_from", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("armed_at", UTCDateTime(), nullable=False),
        sa.Column("pending_notice", sa.String(16), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=True),
        sa.Column("responders_reminded_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_deploy_plans_created_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["deploy_id"], ["deploys.id"], name=op.f("fk_deploy_plans_deploy_id_deploys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_plans")),
    )
    for column in ("planned_for", "status", "deploy_id"):
        op.create_index(op.f(f"ix_deploy_plans_{column}"), "deploy_plans", [column])
    op.create_index(
        "uq_deploy_plans_one_planned_name",
        "deploy_plans",
        ["name"],
        unique=True,
        sqlite_where=PLANNED,
        postgresql_where=PLANNED,
    )

    op.create_table(
        "plan_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("planned_for", UTCDateTime(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["deploy_plans.id"],
            ondelete="CASCADE",
            name=op.f("fk_plan_notices_plan_id_deploy_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_notices")),
        sa.UniqueConstraint("plan_id", "kind", "planned_for", name=op.f("uq_plan_notices_plan_id")),
    )

    op.create_table(
        "expected_responders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("team", sa.String(32), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["deploy_plans.id"],
            ondelete="CASCADE",
            name=op.f("fk_expected_responders_plan_id_deploy_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            ondelete="CASCADE",
            name=op.f("fk_expected_responders_person_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["people.id"], name=op.f("fk_expected_responders_added_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expected_responders")),
        sa.UniqueConstraint(
            "plan_id", "person_id", name=op.f("uq_expected_responders_plan_person")
        ),
        sa.UniqueConstraint("plan_id", "team", name=op.f("uq_expected_responders_plan_team")),
    )
    op.create_index(op.f("ix_expected_responders_plan_id"), "expected_responders", ["plan_id"])

    op.create_table(
        "catalog_consumers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["people.id"], name=op.f("fk_catalog_consumers_added_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_consumers")),
        sa.UniqueConstraint("service", "consumer", name=op.f("uq_catalog_consumers_service")),
    )


def downgrade() -> None:
    op.drop_table("catalog_consumers")
    op.drop_table("expected_responders")
    op.drop_table("plan_notices")
    op.drop_index("uq_deploy_plans_one_planned_name", table_name="deploy_plans")
    op.drop_table("deploy_plans")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("staging_mixup")
        batch.drop_column("consumer_known")
        batch.drop_column("consumer")
    with op.batch_alter_table("deploys") as batch:
        batch.drop_column("environment")
