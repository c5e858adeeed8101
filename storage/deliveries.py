"""Outbox and delivery history.

Owner-facing functions take the session and the owner. The worker's functions
(``claim_due``, ``finish_*``) act on rows the worker claimed, by id and claim token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, false, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import NotFound
from storage.models import Delivery, DeliveryKind, DeliveryStatus, Owner
from storage.scoping import belongs_to, belongs_to_param, owned, owned_shape, owner_params

# Built once (scoping.py says why): the queries of every accepted send before its ack.
_BY_DEDUPE_KEY = owned_shape(Delivery).where(col(Delivery.dedupe_key) == bindparam("key"))
_FROM_SOURCE = (
    owned_shape(Delivery)
    .where(
        col(Delivery.source) == bindparam("source"), col(Delivery.created_at) >= bindparam("since")
    )
    .order_by(col(Delivery.created_at).desc())
    .limit(1)
)
_LAST_USED = (
    select(Delivery.destination_id)
    .where(belongs_to_param(Delivery), col(Delivery.kind) == DeliveryKind.SESSION)
    .order_by(col(Delivery.created_at).desc())
    .limit(1)
)
_SEND_COUNTS = select(
    func.count().filter(col(Delivery.created_at) >= bindparam("hour")),
    func.count().filter(
        and_(
            col(Delivery.created_at) >= bindparam("day"),
            col(Delivery.destination_id) == bindparam("destination_id"),
        )
    ),
).where(
    belongs_to_param(Delivery),
    col(Delivery.created_at) >= bindparam("since"),
    col(Delivery.kind) == DeliveryKind.SESSION,
)
_LOCK_SQLITE = (
    update(Delivery)
    .where(false())
    .values(id=Delivery.id)
    .execution_options(synchronize_session=False)  # it changes no row
)


async def enqueue(*, db: AsyncSession, owner: Owner, delivery: Delivery) -> Delivery:
    delivery.team_id, delivery.user_id = owner.team_id, owner.user_id
    delivery.enterprise_id = owner.enterprise_id
    db.add(delivery)
    await db.flush()
    return delivery


async def enqueue_once(
    *,
    db: AsyncSession,
    owner: Owner,
    dedupe_key: str | None,
    build: Callable[[], Awaitable[Delivery]],
) -> tuple[Delivery, bool]:
    """Queue what ``build`` makes, unless an earlier copy of the same Slack request
    (same ``dedupe_key``) already did: then that delivery, and False.

    The owner's lock comes first, so two instances handling one retry at the same moment
    take turns and the second finds the first's row; ``build`` runs only for a new request
    (its own writes, such as a saved destination, happen once)."""
    await lock_owner(db=db, owner=owner)
    if dedupe_key is not None:
        earlier = await find_by_dedupe_key(db=db, owner=owner, dedupe_key=dedupe_key)
        if earlier is not None:
            return earlier, False
    delivery = await build()
    delivery.dedupe_key = dedupe_key
    return await enqueue(db=db, owner=owner, delivery=delivery), True


async def get_delivery(*, db: AsyncSession, owner: Owner, delivery_id: str) -> Delivery:
    result = await db.exec(owned(Delivery, owner).where(Delivery.id == delivery_id))
    delivery = result.first()
    if delivery is None:
        raise NotFound(delivery_id)
    return delivery


async def recent_deliveries(*, db: AsyncSession, owner: Owner, limit: int) -> Sequence[Delivery]:
    result = await db.exec(
        owned(Delivery, owner).order_by(col(Delivery.created_at).desc()).limit(limit)
    )
    return result.all()


@dataclass(frozen=True)
class SendCounts:
    """What the rate limits count: the owner's sessions since ``hour``, and those to one
    destination since ``day``."""

    in_the_hour: int
    to_destination_in_the_day: int


async def count_sends(
    *, db: AsyncSession, owner: Owner, hour: datetime, day: datetime, destination_id: str
) -> SendCounts:
    """Both limits' counts in one statement (it runs before every accepted send's ack)."""
    params = owner_params(
        owner, hour=hour, day=day, since=min(hour, day), destination_id=destination_id
    )
    in_the_hour, to_destination = (await db.exec(_SEND_COUNTS, params=params)).one()
    return SendCounts(in_the_hour, to_destination)


async def last_used_destination_id(*, db: AsyncSession, owner: Owner) -> str | None:
    return (await db.exec(_LAST_USED, params=owner_params(owner))).first()


async def from_source_since(
    *, db: AsyncSession, owner: Owner, source: str, since: datetime
) -> Delivery | None:
    """The owner's newest delivery asked for by ``source`` since then (a second reaction
    on the same message within a day), if any."""
    params = owner_params(owner, source=source, since=since)
    return (await db.exec(_FROM_SOURCE, params=params)).first()


async def sent_since(
    *, db: AsyncSession, owner: Owner, since: datetime, destination_id: str | None = None
) -> Sequence[datetime]:
    """When the owner's forwards (not tests) that went out since then finished, oldest
    first: what a rate limit counts for sends that wait instead of being refused."""
    query = select(Delivery.finished_at).where(
        belongs_to(Delivery, owner),
        Delivery.kind == DeliveryKind.SESSION,
        Delivery.status == DeliveryStatus.SENT,
        col(Delivery.finished_at) >= since,
    )
    if destination_id is not None:
        query = query.where(Delivery.destination_id == destination_id)
    found = (await db.exec(query.order_by(col(Delivery.finished_at)))).all()
    return [moment for moment in found if moment is not None]


async def set_status_message(*, db: AsyncSession, delivery_id: str, channel: str, ts: str) -> None:
    await db.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .values(status_channel=channel, status_ts=ts)
    )


async def release_claims(*, db: AsyncSession) -> int:
    """At start-up of the only process on this database: in-flight rows are due again."""
    result = await db.exec(
        update(Delivery)
        .where(col(Delivery.status) == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.QUEUED, claimed_by=None, lease_until=None)
    )
    return int(result.rowcount or 0)


async def claim_due(
    *, db: AsyncSession, worker_id: str, now: datetime, lease: timedelta, limit: int
) -> Sequence[Delivery]:
    """Claim due rows (queued, or in flight with an expired lease) for this worker.

    PostgreSQL (several instances): ``SELECT … FOR UPDATE SKIP LOCKED`` hands each row to
    one claimer and lets the others take the next rows instead of waiting. SQLite (one
    process, one writer at a time): the status check in the UPDATE makes the claim atomic.
    """
    due = or_(
        (col(Delivery.status) == DeliveryStatus.QUEUED) & (col(Delivery.next_attempt_at) <= now),
        (col(Delivery.status) == DeliveryStatus.SENDING) & (col(Delivery.lease_until) < now),
    )
    # Oldest first, so a channel's posts go out in the order they were posted.
    oldest_first = (col(Delivery.next_attempt_at), col(Delivery.created_at))
    candidates = select(Delivery.id).where(due).order_by(*oldest_first)
    if (await db.connection()).dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = (await db.exec(candidates.limit(limit))).all()
    if not ids:
        return []
    await db.exec(
        update(Delivery)
        .where(col(Delivery.id).in_(ids), due)
        .values(status=DeliveryStatus.SENDING, claimed_by=worker_id, lease_until=now + lease)
    )
    result = await db.exec(
        select(Delivery)
        .where(
            col(Delivery.id).in_(ids),
            Delivery.claimed_by == worker_id,
            Delivery.status == DeliveryStatus.SENDING,
        )
        .order_by(*oldest_first)
    )
    return result.all()


async def renew_leases(*, db: AsyncSession, worker_id: str, until: datetime) -> int:
    """Keep this worker's in-flight claims alive (a live instance never loses them)."""
    result = await db.exec(
        update(Delivery)
        .where(
            col(Delivery.claimed_by) == worker_id, col(Delivery.status) == DeliveryStatus.SENDING
        )
        .values(lease_until=until)
    )
    return int(result.rowcount or 0)


async def next_due_at(*, db: AsyncSession) -> datetime | None:
    """When the next row falls due: queued, or in flight under a lease that will expire."""
    queued = (
        await db.exec(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status == DeliveryStatus.QUEUED
            )
        )
    ).one()
    leased = (
        await db.exec(
            select(func.min(Delivery.lease_until)).where(Delivery.status == DeliveryStatus.SENDING)
        )
    ).one()
    known = [moment for moment in (queued, leased) if moment is not None]
    return min(known) if known else None


async def find_by_dedupe_key(*, db: AsyncSession, owner: Owner, dedupe_key: str) -> Delivery | None:
    """The delivery an earlier copy of the same Slack request queued, if any."""
    params = owner_params(owner, key=dedupe_key)
    return (await db.exec(_BY_DEDUPE_KEY, params=params)).first()


async def lock_owner(*, db: AsyncSession, owner: Owner) -> None:
    """Serialise one owner's accepts across instances (rate limits count, then insert).

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the file's write lock, taken
    now rather than at the first insert, so a second writer waits before it reads.
    """
    if (await db.connection()).dialect.name == "postgresql":
        await db.exec(
            select(
                func.pg_advisory_xact_lock(
                    func.hashtextextended(f"xenocept:{owner.team_id}:{owner.user_id}", 0)
                )
            )
        )
    else:
        await db.exec(_LOCK_SQLITE)


async def finish(
    *,
    db: AsyncSession,
    delivery_id: str,
    worker_id: str,
    status: DeliveryStatus,
    at: datetime,
    attempts: int,
    summary: str,
    error: str | None,
    duration_ms: int | None,
) -> None:
    """Record the outcome of a claimed delivery (sent, or failed for good)."""
    await db.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.claimed_by) == worker_id)
        .values(
            status=status,
            finished_at=at,
            attempts=attempts,
            summary=summary,
            last_error=error,
            duration_ms=duration_ms,
            claimed_by=None,
            lease_until=None,
        )
    )


async def reschedule(
    *,
    db: AsyncSession,
    delivery_id: str,
    worker_id: str,
    at: datetime,
    attempts: int,
    error: str,
) -> None:
    """Put a claimed delivery back in the queue for a later attempt."""
    await db.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.claimed_by) == worker_id)
        .values(
            status=DeliveryStatus.QUEUED,
            next_attempt_at=at,
            attempts=attempts,
            last_error=error,
            claimed_by=None,
            lease_until=None,
        )
    )
