"""Message shortcut "Send to email": open the send modal within Slack's trigger window."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.common import open_send_modal, owner_of, services_of
from bot.sending import start_send
from bot.views.send_modal import no_destination_modal, not_saved_modal
from storage.errors import StorageUnavailable


async def send_to_email_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    trigger_id = shortcut["trigger_id"]
    try:
        start = await start_send(
            services_of(context), owner=owner_of(context), client=client, shortcut=shortcut
        )
    except StorageUnavailable:  # a full disk: say so in a modal rather than open nothing
        await client.views_open(trigger_id=trigger_id, view=not_saved_modal())
        return
    if not start.destinations:
        await client.views_open(trigger_id=trigger_id, view=no_destination_modal())
        return
    await open_send_modal(client, trigger_id, start)
