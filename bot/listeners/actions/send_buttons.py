"""Buttons around sending: add a destination from the send modal, send only the message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.common import (
    owner_of,
    reply_privately,
    services_of,
    setup_modal,
)
from bot.presets import ICLOUD
from bot.sending import resend_only_message
from bot.views import messages
from storage.errors import NotFound


async def push_add_destination(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    await client.views_push(
        trigger_id=body["trigger_id"],
        view=await setup_modal(context, preset=ICLOUD),
    )


async def send_only_message(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    try:
        await resend_only_message(
            services_of(context), owner=owner_of(context), delivery_id=str(action.get("value"))
        )
    except NotFound:
        await reply_privately(context, client, messages.send_not_yours())
