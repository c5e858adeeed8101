"""One delivery step alone, against the iCloud-like server: it sends and says what
happened, and writes nothing — the row stays as the loop claimed it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import destination_service
from bot.delivery.step import DeliveryStep, Failed, Sent
from bot.errors import DestinationGone, SendFailure, Stage
from storage import destinations
from storage.db import transaction
from storage.models import DestinationPublic, Owner
from tests.listeners.test_destination_lifecycle import add_icloud
from tests.support.harness import JANE, JANE_LOGIN, Harness
from tests.support.send_flow import rows


@pytest.fixture
async def mine(harness: Harness) -> AsyncIterator[DestinationPublic]:
    """Jane's iCloud destination, its automatic test already received."""
    assert await add_icloud(harness) == (200, "")
    await harness.smtp.wait_for_messages(1)
    async with transaction(harness.app.services.database) as db:
        [found] = await destinations.list_destinations(
            db=db, owner=Owner(harness.slack.team_id, JANE)
        )
    yield found


async def test_a_step_sends_and_returns_the_receipt(
    harness: Harness, mine: DestinationPublic
) -> None:
    step = DeliveryStep(harness.app.services, composer=None)
    delivery = destination_service.test_delivery(mine)
    outcome, connection = await step.run(delivery, None)
    try:
        assert isinstance(outcome, Sent)
        assert outcome.receipt.accepted == tuple(mine.recipients) and not outcome.receipt.refused
        [_, mail] = await harness.smtp.wait_for_messages(2)
        assert mail.message["Message-ID"] == delivery.message_id
        # The next delivery of the group reuses the open connection.
        again, same = await step.run(destination_service.test_delivery(mine), connection)
        assert isinstance(again, Sent) and same is connection
        assert harness.smtp.connections == 2  # the automatic test's, and this one
    finally:
        if connection is not None:
            await connection.close()
    # Only the automatic test's row: the step wrote none.
    assert rows(harness, "select count(*) from delivery") == [(1,)]


async def test_a_refused_login_is_a_failure_at_its_stage(
    harness: Harness, mine: DestinationPublic
) -> None:
    harness.smtp._accounts[JANE_LOGIN].revoked = True  # the app-specific password revoked
    outcome, connection = await DeliveryStep(harness.app.services, composer=None).run(
        destination_service.test_delivery(mine), None
    )
    assert connection is None  # a failed connection is not kept for the group
    assert isinstance(outcome, Failed) and isinstance(outcome.error, SendFailure)
    assert outcome.error.stage is Stage.LOGIN and outcome.error.code == 535
    assert outcome.target is not None and outcome.target.host == mine.smtp_host


async def test_a_removed_destination_is_gone_not_a_crash(
    harness: Harness, mine: DestinationPublic
) -> None:
    delivery = destination_service.test_delivery(mine)
    async with transaction(harness.app.services.database) as db:
        await destinations.delete_destination(db=db, owner=delivery.owner, destination_id=mine.id)
    outcome, _ = await DeliveryStep(harness.app.services, composer=None).run(delivery, None)
    assert isinstance(outcome, Failed) and isinstance(outcome.error, DestinationGone)
