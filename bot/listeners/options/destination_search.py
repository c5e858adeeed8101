"""The send modal's destination menu, searched: only the requesting user's destinations."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.destination_service import owned_destinations
from bot.listeners.common import owner_of, services_of
from bot.views.send_modal import destination_options


async def destination_search(
    ack: AsyncAck, payload: dict[str, Any], context: AsyncBoltContext
) -> None:
    mine = await owned_destinations(services_of(context), owner=owner_of(context))
    await ack(options=destination_options(mine, str(payload.get("value") or "")))
