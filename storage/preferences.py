"""A user's preferences for forwarding without the menu: the reaction that forwards and
the default destination. Read and written for that user only."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Owner, UserPreference
from storage.scoping import owned_shape, owner_params

_PREFERENCE = owned_shape(UserPreference)


async def get_preference(*, db: AsyncSession, owner: Owner) -> UserPreference:
    """The owner's preferences; the defaults (not stored) when they never chose any."""
    found = (await db.exec(_PREFERENCE, params=owner_params(owner))).first()
    if found is not None:
        return found
    return UserPreference(
        team_id=owner.team_id, user_id=owner.user_id, enterprise_id=owner.enterprise_id
    )


async def save_preference(
    *,
    db: AsyncSession,
    owner: Owner,
    reaction: str | None = None,
    default_destination_id: str | None = None,
    told_no_destination_at: datetime | None = None,
) -> UserPreference:
    """Change only what is given; the rest stays as it was."""
    preference = await get_preference(db=db, owner=owner)
    if reaction is not None:
        preference.reaction = reaction
    if default_destination_id is not None:
        preference.default_destination_id = default_destination_id or None
    if told_no_destination_at is not None:
        preference.told_no_destination_at = told_no_destination_at
    db.add(preference)
    await db.flush()
    return preference
