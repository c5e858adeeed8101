"""The outbox on SQLite and PostgreSQL: delivered once, shared by several workers, claims
held by a live worker and taken over from a dead one when its lease expires."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import destination_service as lifecycle
from bot.delivery.outbox import Outbox
from bot.destination_service import request_test
from bot.services import Services
from bot.settings import Settings
from storage import deliveries, destinations
from storage.db import transaction
from storage.models import Delivery, DeliveryKind, DeliveryStatus, Owner
from tests.conftest import make_settings
from tests.listeners.test_destination_lifecycle import add_icloud
from tests.support.harness import JANE, Harness
from tests.support.send_flow import open_send_modal, send_values
from tests.support.slack_standin import SlackStandIn

# Short, so a takeover is quick to see, but above the event-loop stalls of a loaded CI
# machine: a lease that lapses while its worker still sends is a second copy by design.
LEASE_SECONDS = 1.0  # the slow send below holds 4 leases, within the 5 s SMTP timeout


@pytest.fixture
def settings(tmp_path: Path, slack: SlackStandIn, database_url: str) -> Settings:
    """The harness of this module runs once per engine, with a short lease."""
    return make_settings(
        tmp_path, slack, XENOCEPT_DATABASE_URL=database_url, XENOCEPT_LEASE_SECONDS=LEASE_SECONDS
    )


@pytest.fixture
async def ready(harness: Harness) -> AsyncIterator[tuple[Harness, str]]:
    """The harness with Jane's iCloud destination saved and its automatic test received."""
    assert await add_icloud(harness) == (200, "")
    await harness.smtp.wait_for_messages(1)
    async with transaction(harness.app.services.database) as db:
        [mine] = await destinations.list_destinations(db=db, owner=owner(harness))
    yield harness, mine.id


def owner(harness: Harness) -> Owner:
    return Owner(harness.slack.team_id, JANE)


async def extra_outbox(services: Services) -> Outbox:
    """Another worker on the same database, as another instance would run it."""
    outbox = Outbox(services, lease=timedelta(seconds=LEASE_SECONDS), batch_size=3)
    await outbox.start(release_in_flight=False)
    return outbox


async def history(harness: Harness) -> list[Delivery]:
    async with transaction(harness.app.services.database) as db:
        return list(await deliveries.recent_deliveries(db=db, owner=owner(harness), limit=500))


async def settled(harness: Harness) -> list[Delivery]:
    """The history once nothing is queued or in flight any more (the mail arrives first)."""
    for _ in range(200):
        rows = await history(harness)
        if all(row.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED) for row in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError("deliveries still open")


async def test_every_queued_delivery_is_sent_once_by_several_workers(
    ready: tuple[Harness, str],
) -> None:
    harness, destination_id = ready
    services = harness.app.services
    others = [await extra_outbox(services) for _ in range(2)]
    try:
        queued = [
            await request_test(services, owner=owner(harness), destination_id=destination_id)
            for _ in range(24)
        ]
        received = await harness.smtp.wait_for_messages(25, timeout=30)
        await asyncio.sleep(LEASE_SECONDS * 2)  # nothing else arrives, not even late
    finally:
        for outbox in others:
            await outbox.stop()
    seen = Counter(str(mail.message["Message-ID"]) for mail in harness.smtp.received)
    assert len(harness.smtp.received) == 25 and set(seen.values()) == {1}
    assert {delivery.message_id for delivery in queued} <= set(seen)
    assert all(mail.message["Message-ID"] for mail in received)
    rows = await settled(harness)
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert all(row.claimed_by is None and row.attempts == 1 for row in rows)


async def test_a_dead_workers_claim_is_taken_over_when_its_lease_expires(
    ready: tuple[Harness, str],
) -> None:
    harness, destination_id = ready
    services = harness.app.services
    expires = services.clock() + timedelta(seconds=1.5)
    async with transaction(services.database) as db:
        mine = await destinations.get_destination(
            db=db, owner=owner(harness), destination_id=destination_id
        )
        orphan = lifecycle.test_delivery(mine)  # claimed by an instance that then died
        orphan.status, orphan.claimed_by, orphan.lease_until = (
            DeliveryStatus.SENDING,
            "gone-host:4242:feedface",
            expires,
        )
        await deliveries.enqueue(db=db, owner=owner(harness), delivery=orphan)
    started = time.monotonic()
    received = await harness.smtp.wait_for_messages(2, timeout=15)
    assert time.monotonic() - started >= 1.0  # not before the lease ran out
    assert str(received[1].message["Message-ID"]) == orphan.message_id
    [done] = [row for row in await settled(harness) if row.id == orphan.id]
    assert done.status is DeliveryStatus.SENT and done.claimed_by is None


async def test_a_live_worker_keeps_its_claim_through_a_slow_send(
    ready: tuple[Harness, str],
) -> None:
    """The SMTP server holds its reply for several leases: renewal keeps others away."""
    harness, destination_id = ready
    other = await extra_outbox(harness.app.services)
    try:
        harness.smtp.hold_after_data = True
        await request_test(
            harness.app.services, owner=owner(harness), destination_id=destination_id
        )
        await harness.smtp.wait_for_messages(2)
        await asyncio.sleep(LEASE_SECONDS * 4)
        harness.smtp.release()
        await harness.dm_update(lambda text: "works" in text)
        await asyncio.sleep(LEASE_SECONDS * 2)
    finally:
        await other.stop()
    assert len(harness.smtp.received) == 2  # the slow one was sent by one worker, once
    assert {row.status for row in await settled(harness)} == {DeliveryStatus.SENT}


async def test_a_thread_sent_from_the_shortcut_arrives_once(ready: tuple[Harness, str]) -> None:
    """The send flow on each engine: draft, limits under the owner lock, dedupe, delivery."""
    harness, _ = ready
    thread: list[dict[str, Any]] = [
        {
            "type": "message",
            "user": JANE,
            "text": "deploy *done*",
            "ts": "1700000000.000100",
            "reply_count": 1,
        },
        {
            "type": "message",
            "user": JANE,
            "text": "verified",
            "ts": "1700000001.000100",
            "thread_ts": "1700000000.000100",
        },
    ]
    harness.slack.add_thread("C0DEPLOY", thread)
    view = await open_send_modal(harness, thread[0], channel_id="C0DEPLOY", channel_name="deploys")
    submit = harness.requests.interactivity(
        harness.requests.view_submission(user_id=JANE, view=view, values=send_values(view))
    )
    assert await harness.send(submit) == (200, "")
    assert await harness.send(harness.requests.retried(submit)) == (200, "")
    received = await harness.smtp.wait_for_messages(2)
    rows = await settled(harness)
    [db] = [row for row in rows if row.kind is DeliveryKind.SESSION]
    assert db.status is DeliveryStatus.SENT
    assert str(received[1].message["Message-ID"]) == db.message_id
    assert "verified" in received[1].raw.decode(errors="replace")
    await asyncio.sleep(0.3)
    assert len(harness.smtp.received) == 2
