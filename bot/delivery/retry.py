"""When a failed delivery is tried again, and after how long.

Transient failures (network, TLS drop, 4xx SMTP replies, Slack hiccups, our own bugs) of a
forwarded session are retried with exponential backoff and jitter, up to the configured
number of attempts; permanent ones (5xx) and test sends stop at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.errors import TRANSIENT_SLACK_ERRORS, SendFailure, SlackDataError, XenoceptError
from storage.models import Delivery, DeliveryKind


def is_transient(error: BaseException) -> bool:
    """Worth another try later: network and 4xx SMTP trouble, Slack hiccups, our own bugs."""
    if isinstance(error, SendFailure):
        return error.transient
    if isinstance(error, SlackDataError):
        return error.error in TRANSIENT_SLACK_ERRORS
    return not isinstance(error, XenoceptError)


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_attempts: int
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.8, 1.2))  # noqa: S311

    def retries(self, delivery: Delivery, error: BaseException, *, attempts: int) -> bool:
        """Whether ``delivery``, failed with ``error`` on attempt ``attempts``, goes again."""
        return (
            is_transient(error)
            and delivery.kind is DeliveryKind.SESSION
            and attempts < self.max_attempts
        )

    def delay(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` tries: doubling, jittered."""
        return float(self.base_seconds * (2 ** (attempts - 1)) * self.jitter())
