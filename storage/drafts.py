"""Drafts of sends between the shortcut and the modal submit (owner-scoped)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import NotFound
from storage.models import Draft, Owner
from storage.scoping import owned_shape, owner_params

_ONE = owned_shape(Draft).where(col(Draft.id) == bindparam("draft_id"))


async def create_draft(*, db: AsyncSession, owner: Owner, payload_json: str) -> Draft:
    draft = Draft(
        team_id=owner.team_id,
        user_id=owner.user_id,
        enterprise_id=owner.enterprise_id,
        payload_json=payload_json,
    )
    db.add(draft)
    await db.flush()
    return draft


async def get_draft(*, db: AsyncSession, owner: Owner, draft_id: str) -> Draft:
    result = await db.exec(_ONE, params=owner_params(owner, draft_id=draft_id))
    draft = result.first()
    if draft is None:
        raise NotFound(draft_id)
    return draft


async def forget_drafts_before(*, db: AsyncSession, moment: datetime) -> None:
    """Drafts are only needed for the minutes a modal stays open."""
    await db.exec(delete(Draft).where(col(Draft.created_at) < moment))
