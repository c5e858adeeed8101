"""The outbox table on every engine: claims, leases, outcomes, dedupe, history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import deliveries
from storage.db import SessionFactory, create_engine, session_factory, transaction
from storage.errors import Conflict, NotFound
from storage.models import Delivery, DeliveryKind, DeliveryStatus, Owner, new_id

JANE = Owner("T1", "U0JANE")
BOB = Owner("T1", "U0BOB")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def row(
    *,
    due: datetime = NOW,
    kind: DeliveryKind = DeliveryKind.SESSION,
    dedupe_key: str | None = None,
    destination_id: str = "d1",
    created: datetime = NOW,
) -> Delivery:
    delivery_id = new_id()
    return Delivery(
        id=delivery_id,
        team_id="",
        user_id="",
        destination_id=destination_id,
        destination_name="iCloud",
        kind=kind,
        message_id=f"<{delivery_id}@x>",
        next_attempt_at=due,
        dedupe_key=dedupe_key,
        created_at=created,
    )


async def enqueue(database: SessionFactory, *rows: Delivery, owner: Owner = JANE) -> list[str]:
    async with transaction(database) as db:
        for delivery in rows:
            await deliveries.enqueue(db=db, owner=owner, delivery=delivery)
    return [delivery.id for delivery in rows]


async def claim(
    database: SessionFactory, worker: str, *, now: datetime = NOW, limit: int = 50
) -> list[str]:
    async with transaction(database) as db:
        claimed = await deliveries.claim_due(
            db=db, worker_id=worker, now=now, lease=LEASE, limit=limit
        )
    return [delivery.id for delivery in claimed]


async def status_of(database: SessionFactory, delivery_id: str) -> Delivery:
    async with transaction(database) as db:
        return await deliveries.get_delivery(db=db, owner=JANE, delivery_id=delivery_id)


async def test_only_due_rows_are_claimed_oldest_first_and_once(database: SessionFactory) -> None:
    later, first, second = await enqueue(
        database,
        row(due=NOW + timedelta(minutes=5)),
        row(due=NOW - timedelta(minutes=2)),
        row(due=NOW - timedelta(minutes=1)),
    )
    assert await claim(database, "w1", limit=1) == [first]
    assert await claim(database, "w2") == [second]
    assert await claim(database, "w3") == []
    claimed = await status_of(database, first)
    assert (claimed.status, claimed.claimed_by) == (DeliveryStatus.SENDING, "w1")
    assert claimed.lease_until == NOW + LEASE
    async with transaction(database) as db:
        assert await deliveries.next_due_at(db=db) == NOW + LEASE
    assert await claim(database, "w3", now=NOW + timedelta(minutes=5)) != [later]


async def test_an_expired_lease_passes_to_another_worker_a_renewed_one_does_not(
    database: SessionFactory,
) -> None:
    kept, lost = await enqueue(database, row(due=NOW - timedelta(seconds=1)), row())
    assert await claim(database, "alive", limit=1) == [kept]
    assert await claim(database, "dead", limit=1) == [lost]
    async with transaction(database) as db:  # "alive" renews only its own claims
        assert await deliveries.renew_leases(db=db, worker_id="alive", until=NOW + 3 * LEASE) == 1
    assert await claim(database, "other", now=NOW + LEASE / 2) == []  # both still leased
    assert await claim(database, "other", now=NOW + 2 * LEASE) == [lost]  # "dead" lapsed
    assert (await status_of(database, kept)).claimed_by == "alive"
    assert (await status_of(database, lost)).claimed_by == "other"


async def test_outcomes_need_the_claim(database: SessionFactory) -> None:
    (made,) = await enqueue(database, row())
    await claim(database, "w1")
    async with transaction(database) as db:
        await deliveries.finish(
            db=db,
            delivery_id=made,
            worker_id="thief",
            status=DeliveryStatus.SENT,
            at=NOW,
            attempts=1,
            summary="x",
            error=None,
            duration_ms=1,
        )
    assert (await status_of(database, made)).status is DeliveryStatus.SENDING
    async with transaction(database) as db:
        await deliveries.reschedule(
            db=db,
            delivery_id=made,
            worker_id="w1",
            at=NOW + timedelta(minutes=2),
            attempts=1,
            error="451",
        )
    back = await status_of(database, made)
    assert (back.status, back.attempts, back.claimed_by, back.last_error) == (
        DeliveryStatus.QUEUED,
        1,
        None,
        "451",
    )
    await claim(database, "w2", now=NOW + timedelta(minutes=3))
    async with transaction(database) as db:
        await deliveries.finish(
            db=db,
            delivery_id=made,
            worker_id="w2",
            status=DeliveryStatus.SENT,
            at=NOW,
            attempts=2,
            summary="12 messages",
            error=None,
            duration_ms=1300,
        )
    done = await status_of(database, made)
    assert (done.status, done.summary, done.finished_at) == (
        DeliveryStatus.SENT,
        "12 messages",
        NOW,
    )


async def test_release_claims_puts_in_flight_rows_back(database: SessionFactory) -> None:
    (made,) = await enqueue(database, row())
    await claim(database, "dead")
    async with transaction(database) as db:
        assert await deliveries.release_claims(db=db) == 1
    assert await claim(database, "fresh") == [made]


async def test_a_repeated_slack_request_is_one_delivery(database: SessionFactory) -> None:
    await enqueue(database, row(dedupe_key="view:V1:h1"))
    with pytest.raises(Conflict):
        await enqueue(database, row(dedupe_key="view:V1:h1"))
    async with transaction(database) as db:
        found = await deliveries.find_by_dedupe_key(db=db, owner=JANE, dedupe_key="view:V1:h1")
        assert found is not None
        assert (
            await deliveries.find_by_dedupe_key(db=db, owner=BOB, dedupe_key="view:V1:h1") is None
        )
    await enqueue(database, row(), row())  # no key: never a conflict


async def test_enqueue_once_queues_a_retried_request_once(engine: AsyncEngine) -> None:
    """Two copies of one Slack request, handled at the same moment by two "instances"
    (own engines): one delivery, ``build`` run once, both answered with the same row."""
    second_engine = create_engine(str(engine.url.render_as_string(hide_password=False)))
    built: list[str] = []

    async def handle(factory: SessionFactory) -> tuple[str, bool]:
        async with transaction(factory) as db:

            async def build() -> Delivery:
                built.append("once")
                await asyncio.sleep(0.05)  # the other copy arrives meanwhile
                return row()

            delivery, queued = await deliveries.enqueue_once(
                db=db, owner=JANE, dedupe_key="view:V9:h9", build=build
            )
        return delivery.id, queued

    try:
        answers = await asyncio.gather(
            handle(session_factory(engine)), handle(session_factory(second_engine))
        )
    finally:
        await second_engine.dispose()
    assert built == ["once"]
    assert sorted(queued for _, queued in answers) == [False, True]
    assert answers[0][0] == answers[1][0]
    async with transaction(session_factory(engine)) as db:
        assert len(await deliveries.recent_deliveries(db=db, owner=JANE, limit=9)) == 1


async def test_history_and_counts_are_the_owners(database: SessionFactory) -> None:
    old = NOW - timedelta(hours=2)
    await enqueue(
        database,
        row(created=old, destination_id="a"),
        row(destination_id="a"),
        row(destination_id="b"),
        row(kind=DeliveryKind.TEST, destination_id="c"),
    )
    await enqueue(database, row(destination_id="z"), owner=BOB)
    async with transaction(database) as db:
        counts = await deliveries.count_sends(
            db=db, owner=JANE, hour=NOW - timedelta(hours=1), day=old, destination_id="a"
        )
        assert counts == deliveries.SendCounts(in_the_hour=2, to_destination_in_the_day=2)
        counts = await deliveries.count_sends(
            db=db, owner=JANE, hour=old, day=NOW - timedelta(hours=1), destination_id="a"
        )
        assert counts == deliveries.SendCounts(in_the_hour=3, to_destination_in_the_day=1)
        recent = await deliveries.recent_deliveries(db=db, owner=JANE, limit=10)
        assert len(recent) == 4 and recent[-1].created_at == old
        assert await deliveries.last_used_destination_id(db=db, owner=BOB) == "z"
        with pytest.raises(NotFound):
            await deliveries.get_delivery(db=db, owner=BOB, delivery_id=recent[0].id)


async def test_instances_claiming_at_once_never_share_a_row(
    database_url: str, engine: AsyncEngine
) -> None:
    """Three "instances" (own engines, own pools) race for 120 rows: each row goes once."""
    ids = await enqueue(
        session_factory(engine), *(row(destination_id=f"d{n % 7}") for n in range(120))
    )
    engines = [create_engine(database_url) for _ in range(3)]
    claimed: dict[str, list[str]] = {}

    async def worker(name: str, factory: SessionFactory) -> None:
        mine = claimed.setdefault(name, [])
        while got := await claim(factory, name, limit=7):
            mine.extend(got)
            await asyncio.sleep(0)

    try:
        await asyncio.gather(
            *(
                worker(f"w{n}:{k}", session_factory(e))
                for n, e in enumerate(engines)
                for k in range(2)
            )
        )
    finally:
        for extra in engines:
            await extra.dispose()
    everything = [delivery_id for got in claimed.values() for delivery_id in got]
    assert sorted(everything) == sorted(ids)
    if engine.dialect.name == "postgresql":  # SKIP LOCKED: nobody waited the race out
        assert sum(1 for got in claimed.values() if got) > 1


async def test_owner_lock_serialises_accepts(engine: AsyncEngine) -> None:
    """Two transactions for one owner run one after the other; other owners don't wait."""
    database = session_factory(engine)
    order: list[str] = []

    async def accept(label: str, owner: Owner, hold: float) -> None:
        async with transaction(database) as db:
            await deliveries.lock_owner(db=db, owner=owner)
            order.append(f"{label}+")
            await asyncio.sleep(hold)
            await deliveries.enqueue(db=db, owner=owner, delivery=row())
            order.append(f"{label}-")

    if engine.dialect.name != "postgresql":  # one writer at a time: the lock is a no-op
        await accept("a", JANE, 0)
        assert order == ["a+", "a-"]
        return
    first = asyncio.create_task(accept("a", JANE, 0.3))
    await asyncio.sleep(0.1)
    await asyncio.gather(accept("b", JANE, 0), accept("c", BOB, 0), first)
    assert order.index("a-") < order.index("b+")
    assert order.index("c-") < order.index("a-")
