"""Show the user's own destinations and recent sends on the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.home import publish_home
from bot.listeners.common import owner_of, services_of


async def app_home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("tab") != "home":
        return
    await publish_home(services_of(context), client, owner_of(context))
