"""The audit trail: append-only entries per workspace, read in pages, and the retention
sweep that deletes old entries and old delivery history in small batches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry, Delivery, DeliveryStatus

SWEEP_BATCH = 500  # rows per delete: short transactions, no long lock on either engine


async def record(
    *,
    db: AsyncSession,
    enterprise_id: str,
    team_id: str,
    user_id: str,
    action: str,
    details: dict[str, Any],
    at: datetime,
) -> None:
    db.add(
        AuditEntry(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            action=action,
            details_json=json.dumps(details, separators=(",", ":"), sort_keys=True),
            at=at,
        )
    )
    await db.flush()


async def entries_page(
    *,
    db: AsyncSession,
    enterprise_id: str,
    team_id: str,
    since: datetime | None = None,
    after_id: int = 0,
    limit: int,
    newest_first: bool = False,
) -> Sequence[AuditEntry]:
    """One page of the workspace's entries: oldest first after ``after_id`` (an export
    walks them page by page), or the newest ``limit`` (App Home)."""
    query = select(AuditEntry).where(
        AuditEntry.enterprise_id == enterprise_id, AuditEntry.team_id == team_id
    )
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    if newest_first:
        query = query.order_by(col(AuditEntry.id).desc())
    else:
        query = query.where(col(AuditEntry.id) > after_id).order_by(col(AuditEntry.id))
    return (await db.exec(query.limit(limit))).all()


async def sweep_batch(
    *, db: AsyncSession, team_id: str | None, before: datetime, keep_teams: Sequence[str] = ()
) -> int:
    """Delete up to ``SWEEP_BATCH`` audit entries and as many finished deliveries older
    than ``before``, of ``team_id`` (or, with None, of every workspace not in
    ``keep_teams``: those without a policy of their own). Queued and in-flight sends are
    never touched. Returns how many rows went; the caller repeats until none do."""
    entries = select(AuditEntry.id).where(col(AuditEntry.at) < before)
    history = select(Delivery.id).where(
        col(Delivery.created_at) < before,
        col(Delivery.status).in_([DeliveryStatus.SENT, DeliveryStatus.FAILED]),
    )
    if team_id is not None:
        entries = entries.where(AuditEntry.team_id == team_id)
        history = history.where(Delivery.team_id == team_id)
    elif keep_teams:
        entries = entries.where(col(AuditEntry.team_id).not_in(keep_teams))
        history = history.where(col(Delivery.team_id).not_in(keep_teams))
    old_entries = list((await db.exec(entries.limit(SWEEP_BATCH))).all())
    old_history = list((await db.exec(history.limit(SWEEP_BATCH))).all())
    if old_entries:
        await db.exec(delete(AuditEntry).where(col(AuditEntry.id).in_(old_entries)))
    if old_history:
        await db.exec(delete(Delivery).where(col(Delivery.id).in_(old_history)))
    return len(old_entries) + len(old_history)
