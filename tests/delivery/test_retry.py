"""The retry policy alone: which failures go again, and after how long."""

from __future__ import annotations

import pytest

from bot.delivery.retry import RetryPolicy, is_transient
from bot.errors import (
    ConversationUnreadable,
    DestinationGone,
    SendFailure,
    SlackDataError,
    Stage,
)
from storage.models import Delivery, DeliveryKind

POLICY = RetryPolicy(base_seconds=30, max_attempts=3, jitter=lambda: 1.0)


def delivery(kind: DeliveryKind) -> Delivery:
    return Delivery(
        team_id="T1",
        user_id="U1",
        destination_id="d1",
        destination_name="iCloud",
        kind=kind,
        message_id="<x@y>",
    )


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (SendFailure(stage=Stage.MESSAGE, code=451, text="try later", transient=True), True),
        (SendFailure(stage=Stage.LOGIN, code=535, text="bad password", transient=False), False),
        (SlackDataError(error="ratelimited", method="conversations.replies"), True),
        (ConversationUnreadable(error="not_in_channel"), False),
        (DestinationGone(), False),
        (RuntimeError("a bug of ours"), True),
    ],
)
def test_transient_failures_are_the_ones_worth_waiting_for(
    error: BaseException, transient: bool
) -> None:
    assert is_transient(error) is transient
    session = delivery(DeliveryKind.SESSION)
    assert POLICY.retries(session, error, attempts=1) is transient


def test_a_test_send_is_never_retried_and_attempts_run_out() -> None:
    hiccup = SendFailure(stage=Stage.CONNECT, code=None, text="timed out", transient=True)
    assert not POLICY.retries(delivery(DeliveryKind.TEST), hiccup, attempts=1)
    assert POLICY.retries(delivery(DeliveryKind.SESSION), hiccup, attempts=2)
    assert not POLICY.retries(delivery(DeliveryKind.SESSION), hiccup, attempts=3)


def test_the_delay_doubles_and_carries_the_jitter() -> None:
    assert [POLICY.delay(n) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]
    wobbly = RetryPolicy(base_seconds=10, max_attempts=3)
    assert all(8.0 <= wobbly.delay(1) <= 12.0 for _ in range(200))
