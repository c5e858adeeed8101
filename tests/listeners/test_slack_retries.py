"""Slack retries a request it got no timely answer to (X-Slack-Retry-Num): the same command,
click or submit arriving twice must not send twice. Deduplicated on Slack's own ids."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import ids
from tests.listeners.test_destination_lifecycle import add_icloud, open_form, rows
from tests.support.harness import JANE, Harness, form_values
from tests.support.send_flow import open_send_modal, send_values

THREAD = {"type": "message", "user": JANE, "text": "deploy notes", "ts": "1700000000.000100"}


async def saved(harness: Harness) -> str:
    assert await add_icloud(harness) == (200, "")
    await harness.smtp.wait_for_messages(1)
    await harness.dm_update(lambda text: "works" in text)
    [(destination_id,)] = rows(harness, "select id from destination")
    return str(destination_id)


async def quiet(harness: Harness, count: int) -> None:
    """``count`` emails arrived and, a moment later, still no more."""
    await harness.smtp.wait_for_messages(count)
    for _ in range(20):
        if rows(harness, "select count(*) from delivery where status in ('QUEUED', 'SENDING')") == [
            (0,)
        ]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert len(harness.smtp.received) == count


async def test_a_retried_test_command_sends_one_test(harness: Harness) -> None:
    await saved(harness)
    first = harness.requests.slash_command(
        user_id=JANE, text="test iCloud", response_url=harness.slack.response_url()
    )
    assert (await harness.send(first))[0] == 200
    assert (await harness.send(harness.requests.retried(first)))[0] == 200
    assert (await harness.send(harness.requests.retried(first, 2)))[0] == 200
    await quiet(harness, 2)
    assert rows(harness, "select count(*) from delivery") == [(2,)]


async def test_a_retried_test_button_sends_one_test(harness: Harness) -> None:
    destination_id = await saved(harness)
    click = harness.requests.interactivity(
        harness.requests.block_actions(
            user_id=JANE,
            action_id=ids.ACTION_TEST_DESTINATION,
            value=destination_id,
            response_url=harness.slack.response_url("btn"),
        )
    )
    for signed in (click, harness.requests.retried(click)):
        assert (await harness.send(signed))[0] == 200
    await quiet(harness, 2)
    another = harness.requests.interactivity(
        harness.requests.block_actions(
            user_id=JANE, action_id=ids.ACTION_TEST_DESTINATION, value=destination_id
        )
    )
    assert (await harness.send(another))[0] == 200  # a new click is a new test
    await quiet(harness, 3)


async def test_a_retried_setup_submit_saves_and_tests_once(harness: Harness) -> None:
    view = await open_form(harness)
    submit = harness.requests.interactivity(
        harness.requests.view_submission(
            user_id=JANE, view=view, values=form_values(port=harness.smtp.submission_port)
        )
    )
    assert await harness.send(submit) == (200, "")
    assert await harness.send(harness.requests.retried(submit)) == (200, "")  # closes, no error
    await quiet(harness, 1)
    assert rows(harness, "select count(*) from destination") == [(1,)]


async def test_a_retried_send_submit_sends_one_email(harness: Harness) -> None:
    await saved(harness)
    harness.slack.add_channel("C0DEPLOY", name="deploys")
    harness.slack.add_thread("C0DEPLOY", [dict(THREAD)])
    view = await open_send_modal(harness, THREAD, channel_id="C0DEPLOY", channel_name="deploys")
    payload: dict[str, Any] = harness.requests.view_submission(
        user_id=JANE, view=view, values=send_values(view)
    )
    submit = harness.requests.interactivity(payload)
    assert await harness.send(submit) == (200, "")
    assert await harness.send(harness.requests.retried(submit)) == (200, "")
    await quiet(harness, 2)
    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(1,)]


async def test_submits_without_view_ids_are_two_sends_never_a_silent_drop(
    harness: Harness,
) -> None:
    """No id/hash: nothing identifies a retry, so each acked submit is queued and sent."""
    await saved(harness)
    harness.slack.add_channel("C111", name="general")
    view = await open_send_modal(harness, THREAD, channel_id="C111", channel_name="general")
    values = send_values(view)
    bare = {k: v for k, v in view.items() if k not in ("id", "hash")}
    for _ in range(2):
        assert await harness.submit(bare, values) == (200, "")
    await quiet(harness, 3)
    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(2,)]
    assert rows(harness, "select dedupe_key from delivery where kind = 'SESSION'") == [
        (None,),
        (None,),
    ]
