"""Share keys and shared sessions on every engine: each owner's alone, a session claimed
once per conversation, and an uninstall taking both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.share_keys import new_share_key
from storage import installations, share
from storage.db import SessionFactory, transaction
from storage.errors import Conflict, NotFound
from storage.models import Owner, SharedSession

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JANE, BOB, OTHER_TEAM = Owner("T1", "U1"), Owner("T1", "U2"), Owner("T2", "U1")


async def make_key(database: SessionFactory, owner: Owner, label: str = "MacBook") -> str:
    made = new_share_key()
    async with transaction(database) as db:
        key = await share.create_key(
            db=db,
            owner=owner,
            key_id=made.key_id,
            label=label,
            salt=made.salt,
            secret_hash=made.secret_hash,
            at=NOW,
        )
    return key.id


async def test_keys_are_their_owners_alone(database: SessionFactory) -> None:
    janes = await make_key(database, JANE)
    await make_key(database, BOB, "Bob's")
    await make_key(database, OTHER_TEAM, "Same user id, other workspace")
    async with transaction(database) as db:
        assert [k.label for k in await share.list_keys(db=db, owner=JANE)] == ["MacBook"]
        assert await share.count_keys(db=db, owner=BOB) == 1
        with pytest.raises(NotFound):
            await share.revoke_key(db=db, owner=BOB, key_id=janes)
        with pytest.raises(NotFound):
            await share.revoke_key(db=db, owner=OTHER_TEAM, key_id=janes)
    async with transaction(database) as db:
        assert await share.count_keys(db=db, owner=JANE) == 1
        assert (await share.revoke_key(db=db, owner=JANE, key_id=janes)).label == "MacBook"
        assert await share.key_for_upload(db=db, key_id=janes) is None
        assert await share.revoke_all_keys(db=db, owner=BOB) == 1
        assert await share.count_keys(db=db, owner=OTHER_TEAM) == 1


async def test_a_session_is_claimed_once_per_conversation(database: SessionFactory) -> None:
    key = await make_key(database, JANE)

    async def claim(db: AsyncSession, owner: Owner, channel_id: str) -> SharedSession:
        return await share.claim_share(
            db=db, owner=owner, key_id=key, channel_id=channel_id, session_id="s1", at=NOW
        )

    async with transaction(database) as db:
        first = await claim(db, JANE, "C1")
        await claim(db, JANE, "C2")
        await claim(db, BOB, "C1")
    with pytest.raises(Conflict):
        async with transaction(database) as db:
            await claim(db, JANE, "C1")
    async with transaction(database) as db:
        await share.finish_share(
            db=db, owner=JANE, share_id=first.id, message_ts="1.2", permalink="https://p"
        )
        found = await share.find_shared(db=db, owner=JANE, channel_id="C1", session_id="s1")
        assert found is not None and (found.message_ts, found.permalink) == ("1.2", "https://p")
        with pytest.raises(NotFound):  # another's claim is not found, let alone finished
            await share.finish_share(
                db=db, owner=BOB, share_id=first.id, message_ts="9", permalink=None
            )
        times = await share.shares_since(
            db=db, owner=JANE, key_id=key, since=NOW - timedelta(hours=1), limit=10
        )
        assert times == [NOW, NOW]


async def test_an_uninstall_takes_the_workspaces_keys_and_shares(
    database: SessionFactory,
) -> None:
    key = await make_key(database, JANE)
    await make_key(database, OTHER_TEAM)
    async with transaction(database) as db:
        await share.claim_share(
            db=db, owner=JANE, key_id=key, channel_id="C1", session_id="s1", at=NOW
        )
        await installations.forget_workspace(db=db, enterprise_id="", team_id="T1")
    async with transaction(database) as db:
        assert await share.count_keys(db=db, owner=JANE) == 0
        assert await share.find_shared(db=db, owner=JANE, channel_id="C1", session_id="s1") is None
        assert await share.count_keys(db=db, owner=OTHER_TEAM) == 1
