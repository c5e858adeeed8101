"""Workspace policy and the audit trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workspacepolicy",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("allowed_domains", sa.String(), nullable=False),
        sa.Column("allowed_providers", sa.String(), nullable=False),
        sa.Column("forward_from", sa.String(), nullable=False),
        sa.Column("blocked_channels", sa.String(), nullable=False),
        sa.Column("max_thread_messages", sa.Integer(), nullable=True),
        sa.Column("keep_days", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "enterprise_id", "team_id", name="uq_workspacepolicy_enterprise_id_team_id"
        ),
    )
    op.create_index("ix_workspacepolicy_enterprise_id", "workspacepolicy", ["enterprise_id"])
    op.create_index("ix_workspacepolicy_team_id", "workspacepolicy", ["team_id"])

    op.create_table(
        "auditentry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("details_json", sa.String(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auditentry_enterprise_id", "auditentry", ["enterprise_id"])
    op.create_index("ix_auditentry_team_id", "auditentry", ["team_id"])
    op.create_index("ix_auditentry_at", "auditentry", ["at"])


def downgrade() -> None:
    op.drop_table("auditentry")
    op.drop_table("workspacepolicy")
