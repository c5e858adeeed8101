"""Share keys and the sessions shared with them.

Owner-facing functions take the session and the owner. ``key_for_upload`` is the upload
endpoint's: a request names only its key, so the key's row says whose it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import NotFound
from storage.models import Owner, SharedSession, ShareKey, ShareKeyPublic
from storage.scoping import belongs_to, owned


def _public(key: ShareKey) -> ShareKeyPublic:
    return ShareKeyPublic(
        id=key.id, label=key.label, created_at=key.created_at, last_used_at=key.last_used_at
    )


async def create_key(
    *,
    db: AsyncSession,
    owner: Owner,
    key_id: str,
    label: str,
    salt: bytes,
    secret_hash: bytes,
    at: datetime,
) -> ShareKeyPublic:
    key = ShareKey(
        id=key_id,
        team_id=owner.team_id,
        user_id=owner.user_id,
        enterprise_id=owner.enterprise_id,
        label=label,
        salt=salt,
        secret_hash=secret_hash,
        created_at=at,
    )
    db.add(key)
    await db.flush()
    return _public(key)


async def list_keys(*, db: AsyncSession, owner: Owner) -> Sequence[ShareKeyPublic]:
    result = await db.exec(owned(ShareKey, owner).order_by(col(ShareKey.created_at)))
    return [_public(key) for key in result.all()]


async def count_keys(*, db: AsyncSession, owner: Owner) -> int:
    query = select(func.count()).select_from(ShareKey).where(belongs_to(ShareKey, owner))
    return int((await db.exec(query)).one())


async def _owned_key(db: AsyncSession, owner: Owner, key_id: str) -> ShareKey | None:
    return (await db.exec(owned(ShareKey, owner).where(ShareKey.id == key_id))).first()


async def revoke_key(*, db: AsyncSession, owner: Owner, key_id: str) -> ShareKeyPublic:
    """Delete the owner's key; ``NotFound`` when it is not theirs (or already gone)."""
    found = await _owned_key(db, owner, key_id)
    if found is None:
        raise NotFound(key_id)
    await db.delete(found)
    await db.flush()
    return _public(found)


async def revoke_all_keys(*, db: AsyncSession, owner: Owner) -> int:
    """Every key of the owner (their Slack account was deactivated)."""
    result = await db.exec(delete(ShareKey).where(belongs_to(ShareKey, owner)))
    return int(result.rowcount or 0)


async def key_for_upload(*, db: AsyncSession, key_id: str) -> ShareKey | None:
    """The key a request presents, by its public part; the caller checks the secret."""
    return (await db.exec(select(ShareKey).where(ShareKey.id == key_id))).first()


async def mark_key_used(*, db: AsyncSession, owner: Owner, key_id: str, at: datetime) -> None:
    found = await _owned_key(db, owner, key_id)
    if found is not None:
        found.last_used_at = at
        db.add(found)
        await db.flush()


async def shares_since(
    *, db: AsyncSession, owner: Owner, key_id: str, since: datetime, limit: int
) -> Sequence[datetime]:
    """When the key posted since ``since``, oldest first, at most ``limit`` (its rate
    limit: the oldest says when the window has room again)."""
    query = (
        select(SharedSession.created_at)
        .where(
            belongs_to(SharedSession, owner),
            col(SharedSession.key_id) == key_id,
            col(SharedSession.created_at) >= since,
        )
        .order_by(col(SharedSession.created_at))
        .limit(limit)
    )
    return list((await db.exec(query)).all())


async def find_shared(
    *, db: AsyncSession, owner: Owner, channel_id: str, session_id: str
) -> SharedSession | None:
    query = owned(SharedSession, owner).where(
        SharedSession.channel_id == channel_id, SharedSession.session_id == session_id
    )
    return (await db.exec(query)).first()


async def claim_share(
    *, db: AsyncSession, owner: Owner, key_id: str, channel_id: str, session_id: str, at: datetime
) -> SharedSession:
    """Record that the session is being posted there (unique: a second claim conflicts)."""
    shared = SharedSession(
        team_id=owner.team_id,
        user_id=owner.user_id,
        enterprise_id=owner.enterprise_id,
        key_id=key_id,
        channel_id=channel_id,
        session_id=session_id,
        created_at=at,
    )
    db.add(shared)
    await db.flush()
    return shared


async def finish_share(
    *, db: AsyncSession, owner: Owner, share_id: str, message_ts: str, permalink: str | None
) -> None:
    found = (await db.exec(owned(SharedSession, owner).where(SharedSession.id == share_id))).first()
    if found is None:
        raise NotFound(share_id)
    found.message_ts, found.permalink = message_ts, permalink
    db.add(found)
    await db.flush()


async def drop_share(*, db: AsyncSession, owner: Owner, share_id: str) -> None:
    """The post failed: the claim goes, so the desktop's next try posts it."""
    await db.exec(
        delete(SharedSession).where(
            belongs_to(SharedSession, owner), col(SharedSession.id) == share_id
        )
    )
