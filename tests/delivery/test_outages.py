"""Outages delay work but lose none: Slack down mid-run, a database refusing writes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot import ids
from tests.listeners.test_destination_lifecycle import open_form
from tests.support.faults import FullDisk, full_disk
from tests.support.harness import Harness, form_values
from tests.support.send_flow import add_destination, open_send_modal, rows, send_values


async def test_slack_down_mid_run_the_email_arrives_and_the_status_catches_up(
    harness: Harness,
) -> None:
    await add_destination(harness)
    await harness.smtp.wait_for_messages(1)
    await harness.slack.stop()  # Slack unreachable: connection refused
    status, body = await harness.command("test iCloud")
    assert status == 200 and "Sending a test session" in body["text"]
    mails = await harness.smtp.wait_for_messages(2)
    assert len(mails) == 2
    before = len(harness.slack.calls)
    await harness.slack.start()  # Slack is back, on the same address
    posted = await harness.slack.wait_for(
        "chat.postMessage",
        lambda c: (
            "works" in str(c.params.get("text"))
            and any(c is later for later in harness.slack.calls[before:])
        ),
    )
    assert "a test session was sent to jane@icloud.com" in str(posted.params["text"])
    assert rows(harness, "select status from delivery") == [("SENT",), ("SENT",)]
    assert len(harness.smtp.received) == 2  # nothing sent twice


@pytest.fixture
def disk(harness: Harness) -> Iterator[FullDisk]:
    with full_disk(harness.app.services.engine) as state:
        yield state


async def test_a_full_disk_after_the_send_delays_the_record_and_sends_once(
    harness: Harness,
    disk: FullDisk,
) -> None:
    await add_destination(harness)
    await harness.smtp.wait_for_messages(1)
    harness.smtp.hold_after_data = True  # the server has the email; its 250 waits
    await harness.command("test iCloud")
    await harness.smtp.wait_for_messages(2)
    disk.on = True
    harness.smtp.release()
    await asyncio.wait_for(disk.retried.wait(), 10)
    assert rows(harness, "select status from delivery order by created_at")[-1] == ("SENDING",)
    before = len(harness.slack.calls)
    disk.on = False
    await harness.slack.wait_for(
        "chat.update",
        lambda c: (
            "works" in str(c.params["text"])
            and any(c is later for later in harness.slack.calls[before:])
        ),
    )
    assert rows(harness, "select status from delivery") == [("SENT",), ("SENT",)]
    assert len(harness.smtp.received) == 2


async def test_a_full_disk_at_the_shortcut_and_the_submits_says_so(
    harness: Harness,
    disk: FullDisk,
) -> None:
    """Nothing saved, one sentence where the user is, never a 500 or a silent nothing."""
    await add_destination(harness)
    harness.slack.add_channel("C0GEN", name="general")
    message = {"type": "message", "user": "U0JANE", "ts": "1700000000.000100", "text": "hi"}
    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    disk.on = True
    status, body = await harness.submit(view, send_values(view))
    assert status == 200 and body["response_action"] == "errors"
    assert "Nothing was saved" in body["errors"][ids.BLOCK_SEND_DESTINATION]

    before = len(harness.slack.calls)
    status, body = await harness.action(
        harness.requests.message_shortcut(
            user_id="U0JANE",
            callback_id=ids.SHORTCUT_SEND_TO_EMAIL,
            channel_id="C0GEN",
            channel_name="general",
            message=message,
            response_url=harness.slack.response_url(),
        )
    )
    assert (status, body) == (200, "")
    opened = await harness.slack.wait_for(
        "views.open", lambda c: any(c is later for later in harness.slack.calls[before:])
    )
    assert "Nothing was saved" in str(opened.params["view"])

    form = await open_form(harness)
    status, body = await harness.submit(
        form, form_values(name="Work", port=harness.smtp.submission_port)
    )
    assert status == 200 and "Nothing was saved" in body["errors"][ids.BLOCK_NAME]
    disk.on = False
    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(0,)]
    assert rows(harness, "select count(*) from destination") == [(1,)]
