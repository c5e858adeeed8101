"""Many workspaces: OAuth installations (sealed bot tokens), OAuth states, and the
Enterprise Grid organisation on every owner-scoped table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)
SCOPED = ("delivery", "destination", "draft")


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("app_id", sa.String(), nullable=True),
        sa.Column("enterprise_name", sa.String(), nullable=True),
        sa.Column("team_name", sa.String(), nullable=True),
        sa.Column("bot_id", sa.String(), nullable=True),
        sa.Column("bot_user_id", sa.String(), nullable=True),
        sa.Column("bot_scopes", sa.String(), nullable=False),
        sa.Column("installer_user_id", sa.String(), nullable=False),
        sa.Column("token_key_id", sa.String(), nullable=False),
        sa.Column("token_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("installed_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", name="uq_installation_enterprise_id_team_id"
        ),
    )
    op.create_index("ix_installation_enterprise_id", "installation", ["enterprise_id"])
    op.create_index("ix_installation_team_id", "installation", ["team_id"])

    op.create_table(
        "oauth_state",
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("state"),
    )
    op.create_index("ix_oauth_state_expires_at", "oauth_state", ["expires_at"])

    for table in SCOPED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("enterprise_id", sa.String(), server_default="", nullable=False)
            )
            batch.create_index(f"ix_{table}_enterprise_id", ["enterprise_id"])


def downgrade() -> None:
    for table in SCOPED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_enterprise_id")
            batch.drop_column("enterprise_id")
    op.drop_table("oauth_state")
    op.drop_table("installation")
