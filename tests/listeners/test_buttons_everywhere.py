"""Every destination button on every surface it appears on answers where the user looks.

Surfaces: the ``/xenocept list`` message (ephemeral, with a response_url), App Home (no
response_url: replies go to the app DM) and the status messages in the app DM.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot import ids
from tests.support.harness import JANE, Harness
from tests.support.send_flow import add_destination

SURFACES = ["list", "home", "status"]
NOT_YOURS = "not yours or was removed"


def click(harness: Harness, surface: str, action_id: str, value: str, key: str) -> Any:
    """The block_actions payload Slack sends for a button on ``surface``."""
    if surface == "home":
        return harness.requests.block_actions(
            user_id=JANE,
            action_id=action_id,
            value=value,
            view={"id": "VHOME", "type": "home", "blocks": []},
        )
    channel = "C111" if surface == "list" else "D" + JANE
    return harness.requests.block_actions(
        user_id=JANE,
        action_id=action_id,
        value=value,
        channel_id=channel,
        message={"ts": "1700000000.000100", "text": "…"},
        response_url=harness.slack.response_url(key),
    )


async def reply(harness: Harness, surface: str, key: str, words: str) -> str:
    """The reply the user sees: in place (response_url), or in the app DM from Home."""
    if surface == "home":
        call = await harness.slack.wait_for(
            "chat.postMessage",
            lambda c: c.params.get("channel") == JANE and words in str(c.params.get("text")),
        )
        return str(call.params["text"])
    _, body = await harness.slack.wait_for_response_url(
        lambda b: words in str(b.get("text")), key=key
    )
    return str(body["text"])


@pytest.mark.parametrize("surface", SURFACES)
async def test_send_test_sends_one(harness: Harness, surface: str) -> None:
    destination_id = await add_destination(harness)
    await harness.smtp.wait_for_messages(1)
    status, _ = await harness.action(
        click(harness, surface, ids.ACTION_TEST_DESTINATION, destination_id, "t")
    )
    assert status == 200
    assert len(await harness.smtp.wait_for_messages(2)) == 2


@pytest.mark.parametrize("surface", SURFACES)
async def test_edit_opens_the_filled_in_form(harness: Harness, surface: str) -> None:
    destination_id = await add_destination(harness)
    before = len(harness.slack.calls)
    status, _ = await harness.action(
        click(harness, surface, ids.ACTION_EDIT_DESTINATION, destination_id, "e")
    )
    assert status == 200
    view = await harness.opened_view(ids.VIEW_DESTINATION_FORM, after=before)
    assert "iCloud" in str(view["blocks"])


@pytest.mark.parametrize("surface", ["list", "home"])
async def test_remove_asks_first_then_removes(harness: Harness, surface: str) -> None:
    destination_id = await add_destination(harness)
    status, _ = await harness.action(
        click(harness, surface, ids.ACTION_REMOVE_DESTINATION, destination_id, "r")
    )
    assert status == 200
    assert "Remove *iCloud*" in await reply(harness, surface, "r", "Remove *iCloud*")
    # The confirmation is a message (ephemeral, or in the app DM): its button has a
    # response_url wherever the Remove click came from.
    status, _ = await harness.action(
        click(harness, "status", ids.ACTION_CONFIRM_REMOVE, destination_id, "c")
    )
    assert status == 200
    assert "Removed *iCloud*" in await reply(harness, "status", "c", "Removed")


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    "action_id",
    [ids.ACTION_TEST_DESTINATION, ids.ACTION_EDIT_DESTINATION, ids.ACTION_REMOVE_DESTINATION],
)
async def test_a_stale_button_says_so_where_the_user_looks(
    harness: Harness,
    surface: str,
    action_id: str,
) -> None:
    destination_id = await add_destination(harness)
    await harness.command("remove iCloud")
    await harness.action(
        click(harness, "status", ids.ACTION_CONFIRM_REMOVE, destination_id, "gone")
    )
    await reply(harness, "status", "gone", "Removed")
    sent = len(harness.smtp.received)
    status, _ = await harness.action(click(harness, surface, action_id, destination_id, "s"))
    assert status == 200
    assert NOT_YOURS in await reply(harness, surface, "s", NOT_YOURS)
    assert len(harness.smtp.received) == sent
    assert not harness.slack.calls_to("views.open")[1:]  # only the setup form ever opened


async def test_a_response_url_that_stopped_working_falls_back_to_the_app_dm(
    harness: Harness,
) -> None:
    destination_id = await add_destination(harness)
    payload = click(harness, "list", ids.ACTION_REMOVE_DESTINATION, destination_id, "x")
    payload["response_url"] = harness.slack.base_url + "/expired"  # Slack answers 404
    status, _ = await harness.action(payload)
    assert status == 200
    assert "Remove *iCloud*" in await reply(harness, "home", "x", "Remove *iCloud*")
