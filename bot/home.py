"""Publishing a user's App Home: their destinations and recent sends."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.views.home import home_view
from storage import deliveries, destinations
from storage.db import SessionFactory, transaction
from storage.models import Owner

log = logging.getLogger(__name__)


async def publish_home(database: SessionFactory, client: AsyncWebClient, owner: Owner) -> None:
    async with transaction(database) as db:
        mine = await destinations.list_destinations(db=db, owner=owner)
        recent = await deliveries.recent_deliveries(db=db, owner=owner, limit=5)
    try:
        await client.views_publish(
            user_id=owner.user_id, view=home_view(destinations=mine, deliveries=recent)
        )
    except SlackApiError as error:
        log.warning("could not publish home for %s: %s", owner.user_id, error.response.get("error"))
