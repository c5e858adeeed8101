"""Sessions into Slack: personal share keys (a salted hash only), the sessions shared
with them, and the workspace policy's switch for sharing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
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
        "sharekey",
        sa.Column("id", sa.String(), nullable=False),
        *_owner_columns(),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("team_id", "user_id", "enterprise_id"):
        op.create_index(f"ix_sharekey_{column}", "sharekey", [column])

    op.create_table(
        "sharedsession",
        sa.Column("id", sa.String(), nullable=False),
        *_owner_columns(),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.Column("permalink", sa.String(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "team_id",
            "user_id",
            "channel_id",
            "session_id",
            name="uq_sharedsession_team_id_user_id_channel_id_session_id",
        ),
    )
    for column in ("team_id", "user_id", "enterprise_id", "key_id", "created_at"):
        op.create_index(f"ix_sharedsession_{column}", "sharedsession", [column])

    with op.batch_alter_table("workspacepolicy") as batch:
        batch.add_column(
            sa.Column("allow_sharing", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("workspacepolicy") as batch:
        batch.drop_column("allow_sharing")
    op.drop_table("sharedsession")
    op.drop_table("sharekey")
