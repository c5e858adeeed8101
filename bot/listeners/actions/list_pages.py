"""Previous/Next under ``/xenocept list``: the same message shows another page."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.common import owner_of, reply_privately, services_of
from bot.policy_service import listed_destinations
from bot.views import messages


async def page_turned(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    value = str(action.get("value") or "0")
    page = int(value) if value.isascii() and value.isdigit() else 0  # the builder clamps it
    mine, refused = await listed_destinations(services_of(context), owner_of(context))
    listing = messages.destination_list(mine, page=page, not_allowed=refused)
    await reply_privately(context, client, listing, replace_original=True)
