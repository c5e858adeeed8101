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


async def create(database: SessionFactory, owner: Owner, name: str = "iCloud") -> str:
    async with transaction(database) as db:
        row = await destinations.create_destination(
            db=db,
            owner=owner,
            fields=fields(name),
            destination_id=new_id(),
            secret_key_id="k1",
            secret_ciphertext=SECRET,
        )
        return row.id


async def test_a_destination_round_trips_with_its_ciphertext(database: SessionFactory) -> None:
    made = await create(database, JANE)
    async with transaction(database) as db:
        row = await destinations.get_destination(db=db, owner=JANE, destination_id=made)
        _, sealed = await destinations.sealed_password(db=db, owner=JANE, destination_id=made)
    assert (sealed.key_id, sealed.ciphertext) == ("k1", SECRET)
    assert row.security is Security.STARTTLS
    # The public shape carries no secret at all, and the sealed one hides it from repr.
    assert not {"secret_key_id", "secret_ciphertext", "name_key"} & set(row.model_dump())
    assert repr(SECRET) not in repr(sealed)
    assert row.recipients == ["jane@icloud.com", "work@example.com"]
    assert row.created_at.tzinfo is not None
    assert abs(row.created_at - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize("stranger", [BOB, JANE_ELSEWHERE])
async def test_another_owner_sees_and_changes_nothing(
    database: SessionFactory, stranger: Owner
) -> None:
    made = await create(database, JANE)
    async with transaction(database) as db:
        assert await destinations.list_destinations(db=db, owner=stranger) == []
        with pytest.raises(NotFound):
            await destinations.get_destination(db=db, owner=stranger, destination_id=made)
        with pytest.raises(NotFound):
            await destinations.find_destination(db=db, owner=stranger, name="icloud")
        with pytest.raises(NotFound):
            await destinations.update_destination(
                db=db,
                owner=stranger,
                destination_id=made,
                fields=fields("x"),
                secret=None,
            )
        with pytest.raises(NotFound):
            await destinations.delete_destination(db=db, owner=stranger, destination_id=made)
    async with transaction(database) as db:
        mine = await destinations.list_destinations(db=db, owner=JANE)
    assert [row.name for row in mine] == ["iCloud"]


async def test_names_are_unique_per_owner_regardless_of_case(database: SessionFactory) -> None:
    await create(database, JANE, "iCloud")
    with pytest.raises(DuplicateName):
        await create(database, JANE, "ICLOUD")
    await create(database, BOB, "iCloud")  # someone else may use the name
    await create(database, JANE_ELSEWHERE, "iCloud")
    async with transaction(database) as db:
        found = await destinations.find_destination(db=db, owner=JANE, name=" icloud ")
    assert found.name == "iCloud"


async def test_update_keeps_or_replaces_the_secret_and_asks_for_a_new_test(
    database: SessionFactory,
) -> None:
    made = await create(database, JANE)
    now = datetime.now(UTC)
    async with transaction(database) as db:
        await destinations.record_test_result(
            db=db, owner=JANE, destination_id=made, ok=True, summary="passed", at=now
        )
    async with transaction(database) as db:
        row = await destinations.update_destination(
            db=db, owner=JANE, destination_id=made, fields=fields("Work"), secret=None
        )
        _, kept = await destinations.sealed_password(db=db, owner=JANE, destination_id=made)
        assert kept.ciphertext == SECRET and row.last_test_ok is None
        await destinations.update_destination(
            db=db,
            owner=JANE,
            destination_id=made,
            fields=fields("Work"),
            secret=("k2", b"new"),
        )
    async with transaction(database) as db:
        row, sealed = await destinations.sealed_password(db=db, owner=JANE, destination_id=made)
    assert (row.name, sealed.key_id, sealed.ciphertext) == ("Work", "k2", b"new")
    assert row.last_test_at is not None and abs(row.last_test_at - now) < timedelta(seconds=1)


async def test_a_failed_transaction_saves_nothing(database: SessionFactory) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(database) as db:
            await destinations.create_destination(
                db=db,
                owner=JANE,
                fields=fields(),
                destination_id=new_id(),
                secret_key_id="k1",
                secret_ciphertext=SECRET,
            )
            raise RuntimeError("boom")
    async with transaction(database) as db:
        assert await destinations.list_destinations(db=db, owner=JANE) == []


async def test_last_used_and_delete(database: SessionFactory) -> None:
    made = await create(database, JANE)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with transaction(database) as db:
        await destinations.mark_used(db=db, owner=JANE, destination_id=made, at=at)
    async with transaction(database) as db:
        row = await destinations.get_destination(db=db, owner=JANE, destination_id=made)
        assert row.last_used_at == at
        await destinations.delete_destination(db=db, owner=JANE, destination_id=made)
    async with transaction(database) as db:
        assert await destinations.all_passwords_for_operator(db=db) == []
