"""Destination repository: every function takes the database session and the requesting
owner, and can only see or change that owner's rows. What leaves this module is the
public shape (``DestinationPublic``): the sealed password stays here, except for the
worker's ``sealed_password`` and the operator's key rotation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import DuplicateName, NotFound
from storage.models import (
    Destination,
    DestinationFields,
    DestinationPublic,
    Owner,
    SealedPassword,
    utcnow,
)
from storage.scoping import owned, owned_shape, owner_params

_ALL = owned_shape(Destination).order_by(col(Destination.name_key))
_ONE = owned_shape(Destination).where(col(Destination.id) == bindparam("destination_id"))


async def list_destinations(*, db: AsyncSession, owner: Owner) -> list[DestinationPublic]:
    result = await db.exec(_ALL, params=owner_params(owner))
    return [row.public() for row in result.all()]


async def get_destination(
    *, db: AsyncSession, owner: Owner, destination_id: str
) -> DestinationPublic:
    return (await _row(db, owner, destination_id)).public()


async def find_destination(*, db: AsyncSession, owner: Owner, name: str) -> DestinationPublic:
    key = name.strip().casefold()
    result = await db.exec(owned(Destination, owner).where(Destination.name_key == key))
    destination = result.first()
    if destination is None:
        raise NotFound(name)
    return destination.public()


async def sealed_password(
    *, db: AsyncSession, owner: Owner, destination_id: str
) -> tuple[DestinationPublic, SealedPassword]:
    """The destination and its sealed password: for the worker, which opens it to send."""
    row = await _row(db, owner, destination_id)
    return row.public(), _sealed(row)


async def create_destination(
    *,
    db: AsyncSession,
    owner: Owner,
    fields: DestinationFields,
    destination_id: str,
    secret_key_id: str,
    secret_ciphertext: bytes,
) -> DestinationPublic:
    await _ensure_name_free(db=db, owner=owner, name=fields.name, except_id=None)
    destination = Destination(
        **fields.model_dump(),
        id=destination_id,
        team_id=owner.team_id,
        user_id=owner.user_id,
        enterprise_id=owner.enterprise_id,
        name_key=fields.name.casefold(),
        secret_key_id=secret_key_id,
        secret_ciphertext=secret_ciphertext,
    )
    db.add(destination)
    await _flush(db, fields.name)
    return destination.public()


async def update_destination(
    *,
    db: AsyncSession,
    owner: Owner,
    destination_id: str,
    fields: DestinationFields,
    secret: tuple[str, bytes] | None,
) -> DestinationPublic:
    """Replace the editable fields; ``secret`` None keeps the stored password."""
    destination = await _row(db, owner, destination_id)
    await _ensure_name_free(db=db, owner=owner, name=fields.name, except_id=destination.id)
    for key, value in fields.model_dump().items():
        setattr(destination, key, value)
    destination.name_key = fields.name.casefold()
    if secret is not None:
        destination.secret_key_id, destination.secret_ciphertext = secret
    destination.updated_at = utcnow()
    # A changed destination must prove itself again before sessions go to it.
    destination.last_test_ok = None
    db.add(destination)
    await _flush(db, fields.name)
    return destination.public()


async def delete_destination(
    *, db: AsyncSession, owner: Owner, destination_id: str
) -> DestinationPublic:
    destination = await _row(db, owner, destination_id)
    await db.delete(destination)
    await db.flush()
    return destination.public()


async def record_test_result(
    *,
    db: AsyncSession,
    owner: Owner,
    destination_id: str,
    ok: bool,
    summary: str,
    at: datetime,
) -> None:
    destination = await _row(db, owner, destination_id)
    destination.last_test_at = at
    destination.last_test_ok = ok
    destination.last_test_summary = summary[:500]
    db.add(destination)


async def mark_used(*, db: AsyncSession, owner: Owner, destination_id: str, at: datetime) -> None:
    destination = await _row(db, owner, destination_id)
    destination.last_used_at = at
    db.add(destination)


async def all_passwords_for_operator(*, db: AsyncSession) -> list[SealedPassword]:
    """Every sealed password, for operator commands (key rotation) only — never for a
    Slack user."""
    return [_sealed(row) for row in (await db.exec(select(Destination))).all()]


async def one_password_per_key_for_operator(*, db: AsyncSession) -> list[SealedPassword]:
    """One sealed password per key id (``xenocept check`` proves each key in use)."""
    first_per_key = select(func.min(Destination.id)).group_by(col(Destination.secret_key_id))
    result = await db.exec(select(Destination).where(col(Destination.id).in_(first_per_key)))
    return [_sealed(row) for row in result.all()]


async def reseal_for_operator(
    *, db: AsyncSession, destination_id: str, key_id: str, ciphertext: bytes
) -> None:
    """Store a password sealed again under another key (``xenocept keys rotate``)."""
    destination = await db.get(Destination, destination_id)
    if destination is None:
        raise NotFound(destination_id)
    destination.secret_key_id, destination.secret_ciphertext = key_id, ciphertext
    db.add(destination)


async def _row(db: AsyncSession, owner: Owner, destination_id: str) -> Destination:
    result = await db.exec(_ONE, params=owner_params(owner, destination_id=destination_id))
    destination = result.first()
    if destination is None:
        raise NotFound(destination_id)
    return destination


def _sealed(row: Destination) -> SealedPassword:
    return SealedPassword(
        row.id, row.name, row.secret_key_id, row.secret_ciphertext, row.team_id, row.enterprise_id
    )


async def _ensure_name_free(
    *, db: AsyncSession, owner: Owner, name: str, except_id: str | None
) -> None:
    query = owned(Destination, owner).where(Destination.name_key == name.casefold())
    existing = (await db.exec(query)).first()
    if existing is not None and existing.id != except_id:
        raise DuplicateName(name)


async def _flush(db: AsyncSession, name: str) -> None:
    try:
        await db.flush()
    except IntegrityError:  # a concurrent save took the name between check and flush
        raise DuplicateName(name) from None
