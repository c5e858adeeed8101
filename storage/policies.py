"""Workspace policies: one row per workspace, read and written for that workspace only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import WorkspacePolicy, utcnow

_POLICY = select(WorkspacePolicy).where(
    col(WorkspacePolicy.enterprise_id) == bindparam("enterprise_id"),
    col(WorkspacePolicy.team_id) == bindparam("team_id"),
)  # built once: it is read before every send's ack


async def get_policy(
    *, db: AsyncSession, enterprise_id: str, team_id: str
) -> WorkspacePolicy | None:
    result = await db.exec(_POLICY, params={"enterprise_id": enterprise_id, "team_id": team_id})
    return result.first()


async def save_policy(
    *, db: AsyncSession, enterprise_id: str, team_id: str, by: str, values: dict[str, Any]
) -> WorkspacePolicy:
    """Replace the workspace's policy with ``values`` (the table's editable columns)."""
    policy = await get_policy(db=db, enterprise_id=enterprise_id, team_id=team_id)
    if policy is None:
        policy = WorkspacePolicy(enterprise_id=enterprise_id, team_id=team_id)
    for key, value in values.items():
        setattr(policy, key, value)
    policy.updated_by, policy.updated_at = by, utcnow()
    db.add(policy)
    await db.flush()
    return policy


async def all_policies_for_worker(*, db: AsyncSession) -> Sequence[WorkspacePolicy]:
    """Every workspace's policy, for the retention sweep only."""
    return (await db.exec(select(WorkspacePolicy))).all()
