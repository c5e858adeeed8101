"""Channel follows and the items their daily digests collect.

Owner-facing functions take the session and the owner. ``follows_of_channel`` is the
event path's: a message in a channel concerns every follower of it in that workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import NotFound
from storage.models import Follow, FollowItem, Owner
from storage.scoping import owned


async def list_follows(*, db: AsyncSession, owner: Owner) -> Sequence[Follow]:
    result = await db.exec(owned(Follow, owner).order_by(col(Follow.created_at)))
    return result.all()


async def get_follow(*, db: AsyncSession, owner: Owner, follow_id: str) -> Follow:
    found = (await db.exec(owned(Follow, owner).where(Follow.id == follow_id))).first()
    if found is None:
        raise NotFound(follow_id)
    return found


async def find_follow(*, db: AsyncSession, owner: Owner, channel_id: str) -> Follow | None:
    result = await db.exec(owned(Follow, owner).where(Follow.channel_id == channel_id))
    return result.first()


async def save_follow(*, db: AsyncSession, owner: Owner, follow: Follow) -> Follow:
    """Create the owner's follow of ``follow.channel_id``, or replace what it was."""
    earlier = await find_follow(db=db, owner=owner, channel_id=follow.channel_id)
    if earlier is not None:
        follow.id, follow.created_at = earlier.id, earlier.created_at
        await db.delete(earlier)
        await db.flush()
    follow.team_id, follow.user_id = owner.team_id, owner.user_id
    follow.enterprise_id = owner.enterprise_id
    db.add(follow)
    await db.flush()
    return follow


async def delete_follow(*, db: AsyncSession, owner: Owner, follow_id: str) -> Follow:
    follow = await get_follow(db=db, owner=owner, follow_id=follow_id)
    await db.exec(delete(FollowItem).where(col(FollowItem.follow_id) == follow.id))
    await db.delete(follow)
    await db.flush()
    return follow


async def pause_follow(
    *, db: AsyncSession, owner: Owner, follow_id: str, reason: str, until: datetime | None
) -> bool:
    """Pause it; True when this changed anything (so the DM about it is sent once)."""
    try:
        follow = await get_follow(db=db, owner=owner, follow_id=follow_id)
    except NotFound:
        return False
    if follow.paused_reason == reason and follow.paused_until == until:
        return False
    follow.paused_reason, follow.paused_until = reason, until
    db.add(follow)
    await db.flush()
    return True


async def resume_follow(*, db: AsyncSession, owner: Owner, follow_id: str) -> None:
    try:
        follow = await get_follow(db=db, owner=owner, follow_id=follow_id)
    except NotFound:
        return
    if follow.paused_reason is not None:
        follow.paused_reason, follow.paused_until = None, None
        db.add(follow)
        await db.flush()


async def follows_of_channel(
    *, db: AsyncSession, team_id: str, channel_id: str
) -> Sequence[Follow]:
    """Every follow of the channel in that workspace (the message event's followers)."""
    result = await db.exec(
        select(Follow)
        .where(Follow.team_id == team_id, Follow.channel_id == channel_id)
        .order_by(col(Follow.created_at))
    )
    return result.all()


async def collect_item(
    *, db: AsyncSession, follow: Follow, message_ts: str, message_json: str, at: datetime
) -> bool:
    """Keep a message for the follow's digest; False when it is kept already (a retry)."""
    exists = await db.exec(
        select(FollowItem.id).where(
            FollowItem.follow_id == follow.id, FollowItem.message_ts == message_ts
        )
    )
    if exists.first() is not None:
        return False
    db.add(
        FollowItem(
            follow_id=follow.id,
            team_id=follow.team_id,
            user_id=follow.user_id,
            message_ts=message_ts,
            message_json=message_json,
            created_at=at,
        )
    )
    await db.flush()
    return True


async def digests_due(*, db: AsyncSession, now: datetime) -> Sequence[Follow]:
    """Follows whose digest time has come (the worker's, across owners)."""
    result = await db.exec(
        select(Follow)
        .where(col(Follow.next_digest_at).is_not(None), col(Follow.next_digest_at) <= now)
        .order_by(col(Follow.next_digest_at))
    )
    return result.all()


async def next_digest_at(*, db: AsyncSession) -> datetime | None:
    result = await db.exec(
        select(Follow.next_digest_at)
        .where(col(Follow.next_digest_at).is_not(None))
        .order_by(col(Follow.next_digest_at))
        .limit(1)
    )
    return result.first()


async def take_items(*, db: AsyncSession, follow: Follow) -> Sequence[FollowItem]:
    """The follow's collected items, oldest first, removed from the collection."""
    items = (
        await db.exec(
            select(FollowItem).where(FollowItem.follow_id == follow.id).order_by(col(FollowItem.id))
        )
    ).all()
    await db.exec(delete(FollowItem).where(col(FollowItem.follow_id) == follow.id))
    return items


async def set_next_digest(*, db: AsyncSession, follow: Follow, at: datetime) -> None:
    follow.next_digest_at = at
    db.add(follow)
    await db.flush()
