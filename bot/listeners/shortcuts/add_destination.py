"""Global shortcut "Add email destination": open the setup modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.common import setup_modal
from bot.presets import ICLOUD


async def add_destination_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    await client.views_open(
        trigger_id=shortcut["trigger_id"],
        view=await setup_modal(context, preset=ICLOUD),
    )
