"""SMTP trouble during a real "Send to email": what is retried, what stops, what the user sees.

Each send goes through signed HTTP requests (shortcut → modal → submit) to the iCloud-like
server with one fault switched on. XENOCEPT_RETRY_BASE_SECONDS=0.05 keeps retries quick;
the tests wait for events, never for time.
"""

from __future__ import annotations

import re

import pytest

from tests.support.harness import JANE_LOGIN, Harness
from tests.support.send_flow import (
    add_destination,
    by_message_id,
    delivery_row,
    outcome,
    send,
    status_texts,
)

MESSAGE = {
    "type": "message",
    "user": "U0BOB",
    "ts": "1700000000.000100",
    "text": "Release notes for 4.2",
}

RETRYING = re.compile(
    r"🔁 Retrying in \d+ s: (.+) — Message from #releases to \*iCloud\* \(attempt 1 failed\)\."
)


async def send_release_notes(harness: Harness) -> str:
    harness.slack.add_channel("C0REL", name="releases")
    return await send(harness, MESSAGE, channel_id="C0REL", channel_name="releases")


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("temp_fail_data", "iCloud answered: 451 4.3.0 Temporary failure, try again later"),
        ("greeting_failures", "iCloud answered: 421 4.3.2 Service not available"),
        ("drop_during_data", "EOF"),  # no reply at all: the connection just ends mid-DATA
    ],
    ids=["451-at-data", "421-at-connect", "dropped-during-data"],
)
async def test_a_transient_failure_is_retried_and_delivered_exactly_once(
    harness: Harness,
    fault: str,
    words: str,
) -> None:
    await add_destination(harness)
    setattr(harness.smtp, fault, 1)
    connections = harness.smtp.connections

    delivery_id = await send_release_notes(harness)
    done = await outcome(harness, delivery_id)

    assert str(done.params["text"]).startswith(
        f"✅ Sent 1 message from #releases to {JANE_LOGIN} via *iCloud* ("
    )
    retry, final = status_texts(harness, delivery_id)
    shown = RETRYING.fullmatch(retry)
    assert shown is not None, retry
    assert words in shown.group(1)
    assert final == done.params["text"]
    row = delivery_row(harness, delivery_id)
    assert (row["status"], row["attempts"]) == ("SENT", 2)
    assert len(by_message_id(harness.smtp.received, row["message_id"])) == 1
    assert len(harness.smtp.received) == 2  # the destination's test, and this one
    assert harness.smtp.connections - connections == 2  # one per attempt


async def test_a_refused_login_stops_at_once_with_the_app_specific_password_advice(
    harness: Harness,
) -> None:
    await add_destination(harness)
    harness.smtp._accounts[JANE_LOGIN].revoked = True  # e.g. the password was revoked
    attempts_before = len(harness.smtp.auth_attempts)

    delivery_id = await send_release_notes(harness)
    failed = await outcome(harness, delivery_id)

    assert failed.params["text"] == (
        "❌ Not sent: *iCloud* — Message from #releases. Logging in failed."
    )
    blocks = str(failed.params["blocks"])
    assert "535 5.7.8" in blocks and "app-specific password" in blocks
    assert "Gave up after" not in blocks
    assert status_texts(harness, delivery_id) == [failed.params["text"]]  # no "Retrying"
    row = delivery_row(harness, delivery_id)
    assert (row["status"], row["attempts"]) == ("FAILED", 1)
    assert len(harness.smtp.received) == 1  # only the destination's test
    refused = harness.smtp.auth_attempts[attempts_before:]
    assert 1 <= len(refused) <= 2 and not any(ok for _, _, ok in refused)
