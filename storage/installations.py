"""OAuth installations (one per workspace, or per Grid organisation), OAuth states, and
forgetting a workspace when the app is uninstalled there.

The bot token arrives here already sealed; nothing in this module sees a plaintext token.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import NotFound
from storage.models import (
    Delivery,
    Destination,
    Draft,
    Follow,
    FollowItem,
    Installation,
    OAuthState,
    SharedSession,
    ShareKey,
    UserPreference,
)


async def save_installation(*, db: AsyncSession, installation: Installation) -> Installation:
    """Insert, or replace the row of the same (enterprise, team): a reinstall."""
    existing = await _exact(db, installation.enterprise_id, installation.team_id)
    if existing is not None:
        for key, value in installation.model_dump(exclude={"id"}).items():
            setattr(existing, key, value)
        installation = existing
    db.add(installation)
    await db.flush()
    return installation


async def find_installation(
    *, db: AsyncSession, enterprise_id: str, team_id: str, is_enterprise_install: bool
) -> Installation | None:
    """The install that serves this workspace: its own, else its organisation's."""
    if not is_enterprise_install:
        found = await _exact(db, enterprise_id, team_id)
        if found is not None or not enterprise_id:
            return found
    result = await db.exec(
        select(Installation).where(
            Installation.enterprise_id == enterprise_id,
            col(Installation.is_enterprise_install).is_(True),
        )
    )
    return result.first()


async def all_installations_for_operator(*, db: AsyncSession) -> Sequence[Installation]:
    """Every install, for operator commands (key rotation, check) only."""
    return (await db.exec(select(Installation))).all()


async def reseal_for_operator(
    *, db: AsyncSession, installation_id: str, key_id: str, ciphertext: bytes
) -> None:
    """Store a bot token sealed again under another key (``xenocept keys rotate``)."""
    installation = await db.get(Installation, installation_id)
    if installation is None:
        raise NotFound(installation_id)
    installation.token_key_id, installation.token_ciphertext = key_id, ciphertext
    db.add(installation)


async def delete_installations(*, db: AsyncSession, enterprise_id: str, team_id: str | None) -> int:
    """Tokens of one workspace (``team_id``), or of a whole organisation (None)."""
    query = delete(Installation).where(col(Installation.enterprise_id) == enterprise_id)
    if team_id is not None:
        query = query.where(col(Installation.team_id) == team_id)
    result = await db.exec(query)
    return int(result.rowcount or 0)


async def forget_installation(
    *, db: AsyncSession, enterprise_id: str, team_id: str, org_wide: bool
) -> int | None:
    """Uninstalled through OAuth: exactly the installation the event names, with its data.

    None (nothing deleted) when no stored installation matches: an org-wide uninstall
    needs its organisation's id, a workspace one its (enterprise, team) pair."""
    if org_wide and not enterprise_id:
        return None
    query = select(Installation).where(
        col(Installation.enterprise_id) == enterprise_id,
        col(Installation.team_id) == ("" if org_wide else team_id),
        col(Installation.is_enterprise_install) == org_wide,
    )
    if org_wide is False and not team_id:
        return None
    if (await db.exec(query)).first() is None:
        return None
    return await forget_workspace(
        db=db, enterprise_id=enterprise_id, team_id=None if org_wide else team_id
    )


async def forget_workspace(*, db: AsyncSession, enterprise_id: str, team_id: str | None) -> int:
    """Uninstalled: the workspace's (or organisation's) tokens, destinations, drafts and
    sends, and its share keys, all go. Returns how many destinations were removed."""
    await delete_installations(db=db, enterprise_id=enterprise_id, team_id=team_id)
    removed = 0
    for table in (
        Destination,
        Draft,
        Delivery,
        Follow,
        UserPreference,
        ShareKey,
        SharedSession,
    ):
        where = (
            col(table.enterprise_id) == enterprise_id
            if team_id is None  # the org
            else col(table.team_id) == team_id
        )
        if table is Follow:  # a follow's digest items go with it
            followed = select(Follow.id).where(where)
            await db.exec(delete(FollowItem).where(col(FollowItem.follow_id).in_(followed)))
        result = await db.exec(delete(table).where(where))
        if table is Destination:
            removed = int(result.rowcount or 0)
    return removed


async def issue_state(*, db: AsyncSession, state: str, expires_at: datetime) -> None:
    db.add(OAuthState(state=state, expires_at=expires_at))
    await db.flush()


async def consume_state(*, db: AsyncSession, state: str, now: datetime) -> bool:
    """True once for an issued, unexpired state (atomic: two instances cannot both use it)."""
    await db.exec(delete(OAuthState).where(col(OAuthState.expires_at) <= now))
    result = await db.exec(delete(OAuthState).where(col(OAuthState.state) == state))
    return int(result.rowcount or 0) == 1


async def _exact(db: AsyncSession, enterprise_id: str, team_id: str) -> Installation | None:
    result = await db.exec(
        select(Installation).where(
            Installation.enterprise_id == enterprise_id, Installation.team_id == team_id
        )
    )
    return result.first()
