"""Signatures, ownership of every id from a payload, and the plaintext password's absence."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import pytest

from bot import ids
from bot.views.destination_modal import FormMetadata
from tests.listeners.test_destination_lifecycle import add_icloud, open_form, rows
from tests.support.harness import ASP, BOB, JANE, JANE_LOGIN, Harness, form_values


async def jane_destination(harness: Harness) -> str:
    await add_icloud(harness)
    await harness.dm_update(lambda text: "works" in text)
    [(destination_id,)] = rows(harness, "select id from destination")
    return str(destination_id)


async def test_forged_and_stale_signatures_get_401_and_touch_nothing(harness: Harness) -> None:
    body = "token=x&team_id=T111&user_id=U0JANE&command=%2Fxenocept&text=list&trigger_id=t"
    forged = harness.requests.sign(
        body, "application/x-www-form-urlencoded", secret="not-the-secret"
    )
    stale = harness.requests.sign(
        body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 6 * 60
    )
    for signed in (forged, stale):
        status, _ = await harness.send(signed)
        assert status == 401
    assert harness.slack.calls == []
    assert rows(harness, "select count(*) from delivery") == [(0,)]


@pytest.mark.parametrize(
    "action_id",
    [
        ids.ACTION_TEST_DESTINATION,
        ids.ACTION_EDIT_DESTINATION,
        ids.ACTION_REMOVE_DESTINATION,
        ids.ACTION_CONFIRM_REMOVE,
    ],
)
async def test_another_users_id_in_a_button_is_refused(harness: Harness, action_id: str) -> None:
    destination_id = await jane_destination(harness)
    sent_before = len(harness.smtp.received)
    status, _ = await harness.action(
        harness.requests.block_actions(
            user_id=BOB,
            action_id=action_id,
            value=destination_id,
            channel_id="C111",
            message={"ts": "1.2", "text": "x"},
            response_url=harness.slack.response_url("bob"),
        )
    )
    assert status == 200
    _, reply = await harness.slack.wait_for_response_url(lambda b: "not yours" in b["text"])
    assert "nothing was done" in reply["text"]
    assert all(destination_id not in str(c.params) for c in harness.slack.calls_to("views.open"))
    assert rows(harness, "select count(*) from destination") == [(1,)]
    assert rows(harness, "select user_id from delivery") == [(JANE,)]
    assert len(harness.smtp.received) == sent_before


async def test_another_users_id_in_private_metadata_is_refused(harness: Harness) -> None:
    destination_id = await jane_destination(harness)
    view = await open_form(harness, "add", user=BOB)
    view["private_metadata"] = FormMetadata("icloud", destination_id).dump()
    _, body = await harness.submit(
        view,
        form_values(
            username="bob@icloud.com",
            password="qrst-uvwx-yzab-cdef",
            to="bob@example.com",
            port=harness.smtp.submission_port,
        ),
        user=BOB,
    )
    assert body["response_action"] == "errors"
    assert "not yours" in body["errors"][ids.BLOCK_NAME]
    assert rows(harness, "select username from destination") == [("jane@icloud.com",)]


async def test_the_plaintext_password_is_nowhere(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await jane_destination(harness)
    await harness.command("test iCloud")
    await harness.smtp.wait_for_messages(2)
    await harness.dm_update(lambda text: "works" in text and text.count("works") >= 1)
    for path in harness.database_path.parent.iterdir():  # the database, its WAL and SHM
        assert ASP.encode() not in path.read_bytes(), path.name
    assert ASP not in caplog.text
    for encoded in (
        base64.b64encode(f"\0{JANE_LOGIN}\0{ASP}".encode()),
        base64.b64encode(ASP.encode()),
    ):  # AUTH PLAIN / LOGIN on the wire
        assert encoded.decode() not in caplog.text
    everything_sent_to_slack: list[Any] = [c.params for c in harness.slack.calls]
    assert ASP not in str(everything_sent_to_slack)
    assert ASP not in str(harness.slack.response_url_posts)
