"""Submit of the send modal: validate and queue in one transaction, then ack."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot import ids
from bot.advice import for_refusal
from bot.destination_service import slack_request_key
from bot.errors import Refusal
from bot.forms import input_value
from bot.listeners.common import owner_of, services_of
from bot.render.headers import clean_header
from bot.sending import SendChoice, accept_send
from bot.views import messages
from bot.views.send_modal import SendMetadata
from storage.errors import StorageUnavailable


async def send_form_submitted(
    ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext
) -> None:
    values = view["state"]["values"]
    scope = input_value(values, ids.BLOCK_SEND_SCOPE)
    choice = SendChoice(
        draft_id=SendMetadata.load(view.get("private_metadata", "")).draft_id,
        destination_id=input_value(values, ids.BLOCK_SEND_DESTINATION),
        scope="message" if scope == "message" else "thread",
        subject=clean_header(input_value(values, ids.BLOCK_SEND_SUBJECT)),
        note=input_value(values, ids.BLOCK_SEND_NOTE) or None,
        dedupe_key=slack_request_key("send", view.get("id"), view.get("hash")),
    )
    try:
        await accept_send(services_of(context), owner=owner_of(context), choice=choice)
    except Refusal as refusal:
        await ack(
            response_action="errors", errors={ids.BLOCK_SEND_DESTINATION: for_refusal(refusal)}
        )
        return
    except StorageUnavailable:  # nothing queued: never ack a send that was not
        await ack(response_action="errors", errors={ids.BLOCK_SEND_DESTINATION: messages.NOT_SAVED})
        return
    await ack()
