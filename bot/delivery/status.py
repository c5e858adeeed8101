"""Keeps one Slack message per delivery up to date (posted once, then updated in place)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import XenoceptError
from bot.views.messages import Message
from storage import deliveries
from storage.db import SessionFactory, transaction
from storage.models import Delivery

log = logging.getLogger(__name__)


class StatusReporter:
    def __init__(self, *, slack: Callable[[Delivery], Awaitable[AsyncWebClient]],
                 sessions: SessionFactory) -> None:
        self._slack = slack  # the client of the delivery's workspace
        self._sessions = sessions

    async def show(self, delivery: Delivery, message: Message) -> None:
        """Post the status message (to the user's app DM) or update it in place."""
        try:
            client = await self._slack(delivery)
            if delivery.status_channel and delivery.status_ts:
                await client.chat_update(
                    channel=delivery.status_channel, ts=delivery.status_ts,
                    text=message.text, blocks=message.blocks)
                return
            response = await client.chat_postMessage(
                channel=delivery.user_id, text=message.text, blocks=message.blocks)
        except SlackApiError as error:
            log.warning("status message for delivery %s failed: %s", delivery.id,
                        error.response.get("error"))
            return
        except XenoceptError as error:  # the workspace uninstalled the app meanwhile
            log.warning("status message for delivery %s failed: %s", delivery.id, error)
            return
        delivery.status_channel, delivery.status_ts = response["channel"], response["ts"]
        async with transaction(self._sessions) as session:
            await deliveries.set_status_message(
                session=session, delivery_id=delivery.id,
                channel=response["channel"], ts=response["ts"])
