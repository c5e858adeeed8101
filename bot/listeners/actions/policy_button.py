"""App Home's **Edit policy** button (shown to admins; checked again on the server)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.commands.admin import open_policy


async def edit_policy_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    await open_policy(str(body.get("trigger_id", "")), client, context)
