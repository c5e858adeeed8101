"""The tables as the first release made them: destination, delivery, draft.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)
SECURITY = sa.Enum("STARTTLS", "SSL", "NONE", name="security")
SCREENSHOT = sa.Enum("INLINE", "ATTACHED", name="screenshotmode")
KIND = sa.Enum("TEST", "SESSION", name="deliverykind")
STATUS = sa.Enum("QUEUED", "SENDING", "SENT", "FAILED", name="deliverystatus")


def upgrade() -> None:
    op.create_table(
        "destination",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("smtp_host", sa.String(), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("security", SECURITY, nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("from_address", sa.String(), nullable=False),
        sa.Column("to_addresses", sa.String(), nullable=False),
        sa.Column("screenshot_mode", SCREENSHOT, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("name_key", sa.String(), nullable=False),
        sa.Column("secret_key_id", sa.String(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("last_test_at", WHEN, nullable=True),
        sa.Column("last_test_ok", sa.Boolean(), nullable=True),
        sa.Column("last_test_summary", sa.String(), nullable=True),
        sa.Column("last_used_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "team_id", "user_id", "name_key", name="uq_destination_team_id_user_id_name_key"
        ),
    )
    op.create_index("ix_destination_team_id", "destination", ["team_id"])
    op.create_index("ix_destination_user_id", "destination", ["user_id"])

    op.create_table(
        "delivery",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("destination_id", sa.String(), nullable=False),
        sa.Column("destination_name", sa.String(), nullable=False),
        sa.Column("kind", KIND, nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("request_json", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("lease_until", WHEN, nullable=True),
        sa.Column("status_channel", sa.String(), nullable=True),
        sa.Column("status_ts", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_delivery_dedupe_key"),
    )
    for column in (
        "team_id",
        "user_id",
        "destination_id",
        "status",
        "next_attempt_at",
        "created_at",
    ):
        op.create_index(f"ix_delivery_{column}", "delivery", [column])

    op.create_table(
        "draft",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("payload_json", sa.String(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("team_id", "user_id", "created_at"):
        op.create_index(f"ix_draft_{column}", "draft", [column])


def downgrade() -> None:
    op.drop_table("draft")
    op.drop_table("delivery")
    op.drop_table("destination")
    for enum in (STATUS, KIND, SCREENSHOT, SECURITY):
        enum.drop(op.get_bind(), checkfirst=True)
