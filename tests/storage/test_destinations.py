"""Destinations are owner-scoped on every engine: no call reaches another user's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import destinations
from storage.db import SessionFactory, transaction
from storage.errors import DuplicateName, NotFound
from storage.models import DestinationFields, Owner, Security, new_id

JANE = Owner("T1", "U0JANE")
BOB = Owner("T1", "U0BOB")
JANE_ELSEWHERE = Owner("T2", "U0JANE")  # the same user id in another workspace
SECRET = bytes(range(256))  # every byte value survives the round trip


def fields(name: str = "iCloud", **overrides: object) -> DestinationFields:
    values: dict[str, object] = {
        "name": name,
        "smtp_host": "smtp.mail.me.com",
        "smtp_port": 587,
        "security": Security.STARTTLS,
        "username": "jane@icloud.com",
        "from_address": "jane@icloud.com",
        "to_addresses": "jane@icloud.com,work@example.com",
    }
    values.update(overrides)
    return DestinationFields.model_validate(values)


async def create(sessions: SessionFactory, owner: Owner, name: str = "iCloud") -> str:
    async with transaction(sessions) as session:
        row = await destinations.create_destination(
            session=session,
            owner=owner,
            fields=fields(name),
            destination_id=new_id(),
            secret_key_id="k1",
            secret_ciphertext=SECRET,
        )
        return row.id


async def test_a_destination_round_trips_with_its_ciphertext(sessions: SessionFactory) -> None:
    made = await create(sessions, JANE)
    async with transaction(sessions) as session:
        row = await destinations.get_destination(session=session, owner=JANE, destination_id=made)
    assert row.secret_ciphertext == SECRET and row.security is Security.STARTTLS
    assert row.recipients == ["jane@icloud.com", "work@example.com"]
    assert row.created_at.tzinfo is not None
    assert abs(row.created_at - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize("stranger", [BOB, JANE_ELSEWHERE])
async def test_another_owner_sees_and_changes_nothing(
    sessions: SessionFactory, stranger: Owner
) -> None:
    made = await create(sessions, JANE)
    async with transaction(sessions) as session:
        assert await destinations.list_destinations(session=session, owner=stranger) == []
        with pytest.raises(NotFound):
            await destinations.get_destination(session=session, owner=stranger, destination_id=made)
        with pytest.raises(NotFound):
            await destinations.find_destination(session=session, owner=stranger, name="icloud")
        with pytest.raises(NotFound):
            await destinations.update_destination(
                session=session,
                owner=stranger,
                destination_id=made,
                fields=fields("x"),
                secret=None,
            )
        with pytest.raises(NotFound):
            await destinations.delete_destination(
                session=session, owner=stranger, destination_id=made
            )
    async with transaction(sessions) as session:
        mine = await destinations.list_destinations(session=session, owner=JANE)
    assert [row.name for row in mine] == ["iCloud"]


async def test_names_are_unique_per_owner_regardless_of_case(sessions: SessionFactory) -> None:
    await create(sessions, JANE, "iCloud")
    with pytest.raises(DuplicateName):
        await create(sessions, JANE, "ICLOUD")
    await create(sessions, BOB, "iCloud")  # someone else may use the name
    await create(sessions, JANE_ELSEWHERE, "iCloud")
    async with transaction(sessions) as session:
        found = await destinations.find_destination(session=session, owner=JANE, name=" icloud ")
    assert found.name == "iCloud"


async def test_update_keeps_or_replaces_the_secret_and_asks_for_a_new_test(
    sessions: SessionFactory,
) -> None:
    made = await create(sessions, JANE)
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        await destinations.record_test_result(
            session=session, owner=JANE, destination_id=made, ok=True, summary="passed", at=now
        )
    async with transaction(sessions) as session:
        row = await destinations.update_destination(
            session=session, owner=JANE, destination_id=made, fields=fields("Work"), secret=None
        )
        assert row.secret_ciphertext == SECRET and row.last_test_ok is None
        await destinations.update_destination(
            session=session,
            owner=JANE,
            destination_id=made,
            fields=fields("Work"),
            secret=("k2", b"new"),
        )
    async with transaction(sessions) as session:
        row = await destinations.get_destination(session=session, owner=JANE, destination_id=made)
    assert (row.name, row.secret_key_id, row.secret_ciphertext) == ("Work", "k2", b"new")
    assert row.last_test_at is not None and abs(row.last_test_at - now) < timedelta(seconds=1)


async def test_a_failed_transaction_saves_nothing(sessions: SessionFactory) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(sessions) as session:
            await destinations.create_destination(
                session=session,
                owner=JANE,
                fields=fields(),
                destination_id=new_id(),
                secret_key_id="k1",
                secret_ciphertext=SECRET,
            )
            raise RuntimeError("boom")
    async with transaction(sessions) as session:
        assert await destinations.list_destinations(session=session, owner=JANE) == []


async def test_last_used_and_delete(sessions: SessionFactory) -> None:
    made = await create(sessions, JANE)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with transaction(sessions) as session:
        await destinations.mark_used(session=session, owner=JANE, destination_id=made, at=at)
    async with transaction(sessions) as session:
        row = await destinations.get_destination(session=session, owner=JANE, destination_id=made)
        assert row.last_used_at == at
        await destinations.delete_destination(session=session, owner=JANE, destination_id=made)
    async with transaction(sessions) as session:
        assert await destinations.all_destinations_for_operator(session=session) == []
