"""Lone UTF-16 surrogates ("\\ud800" is valid JSON) become U+FFFD where text enters,
as Slack's clients show them: no 500, no renderer crash."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from bot import ids
from tests.support.harness import JANE, Harness, form_values
from tests.support.send_flow import (
    add_destination,
    bodies,
    modal_inputs,
    newest_delivery,
    outcome,
    rows,
    send_values,
)

FORM = "application/x-www-form-urlencoded"


async def submit_escaped(
    harness: Harness, view: dict[str, Any], values: dict[str, Any]
) -> tuple[int, Any]:
    """A view_submission whose JSON escapes non-ASCII (\\uXXXX), as any client may send."""
    payload = harness.requests.view_submission(user_id=JANE, view=view, values=values)
    body = urlencode({"payload": json.dumps(payload)})  # ensure_ascii: "\\ud800" stays text
    return await harness.send(harness.requests.sign(body, FORM))


async def test_a_lone_surrogate_in_a_setup_field_is_replaced(harness: Harness) -> None:
    before = len(harness.slack.calls)
    await harness.command("add")
    view = await harness.opened_view(ids.VIEW_DESTINATION_FORM, after=before)
    values = form_values(name="Work \ud800 mail", port=harness.smtp.submission_port)
    assert await submit_escaped(harness, view, values) == (200, "")
    assert rows(harness, "select name from destination") == [("Work \ufffd mail",)]


async def test_lone_surrogates_in_a_message_and_note_reach_the_email(harness: Harness) -> None:
    await add_destination(harness)
    harness.slack.add_channel("C0GEN", name="general")
    message = {
        "type": "message",
        "user": JANE,
        "ts": "1700000000.000100",
        "text": "broken \udc00 text",
    }
    payload = harness.requests.message_shortcut(
        user_id=JANE,
        callback_id=ids.SHORTCUT_SEND_TO_EMAIL,
        channel_id="C0GEN",
        channel_name="general",
        message=message,
        response_url=harness.slack.response_url(),
    )
    before = len(harness.slack.calls)
    body = urlencode({"payload": json.dumps(payload)})
    assert (await harness.send(harness.requests.sign(body, FORM)))[0] == 200
    view = await harness.opened_view(ids.VIEW_SEND_FORM, after=before)
    assert "\ufffd" in modal_inputs(view)[ids.BLOCK_SEND_SUBJECT]["initial_value"]
    status, _ = await submit_escaped(harness, view, send_values(view, note="note \ud83d end"))
    assert status == 200
    await outcome(harness, newest_delivery(harness), starts=("✅",))
    plain, html = bodies(harness.smtp.received[-1].message)
    assert "broken \ufffd text" in plain and "note \ufffd end" in plain
    assert "broken \ufffd text" in html
