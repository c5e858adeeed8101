"""Forwarding without the menu: user preferences (reaction, default destination),
channel follows, digest items, and the source of a delivery.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def _owner_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("enterprise_id", sa.String(), server_default="", nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "userpreference",
        sa.Column("id", sa.String(), nullable=False),
        *_owner_columns(),
        sa.Column("reaction", sa.String(), nullable=False),
        sa.Column("default_destination_id", sa.String(), nullable=True),
        sa.Column("told_no_destination_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "user_id", name="uq_userpreference_team_id_user_id"),
    )
    for column in ("team_id", "user_id", "enterprise_id"):
        op.create_index(f"ix_userpreference_{column}", "userpreference", [column])

    op.create_table(
        "follow",
        sa.Column("id", sa.String(), nullable=False),
        *_owner_columns(),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("channel_name", sa.String(), nullable=True),
        sa.Column("conversation_kind", sa.String(), nullable=False),
        sa.Column("destination_id", sa.String(), nullable=False),
        sa.Column("destination_name", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("digest_time", sa.String(), nullable=True),
        sa.Column("time_zone", sa.String(), nullable=False),
        sa.Column("next_digest_at", WHEN, nullable=True),
        sa.Column("paused_reason", sa.String(), nullable=True),
        sa.Column("paused_until", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "team_id", "user_id", "channel_id", name="uq_follow_team_id_user_id_channel_id"
        ),
    )
    for column in ("team_id", "user_id", "enterprise_id", "channel_id", "next_digest_at"):
        op.create_index(f"ix_follow_{column}", "follow", [column])

    op.create_table(
        "followitem",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("follow_id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("message_ts", sa.String(), nullable=False),
        sa.Column("message_json", sa.String(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("follow_id", "message_ts", name="uq_followitem_follow_id_message_ts"),
    )
    op.create_index("ix_followitem_follow_id", "followitem", ["follow_id"])
    op.create_index("ix_followitem_team_id", "followitem", ["team_id"])

    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("source", sa.String(), nullable=True))
        batch.create_index("ix_delivery_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_index("ix_delivery_source")
        batch.drop_column("source")
    op.drop_table("followitem")
    op.drop_table("follow")
    op.drop_table("userpreference")
