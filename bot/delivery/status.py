"""Keeps one Slack message per delivery up to date (posted once, then updated in place)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import TRANSIENT_SLACK_ERRORS, XenoceptError
from bot.views.messages import Message
from storage import deliveries
from storage.db import SessionFactory, transaction
from storage.models import Delivery

log = logging.getLogger(__name__)


async def tell(client: AsyncWebClient, user_id: str, message: Message) -> None:
    """A one-off DM from the app (something said once, beside the status messages);
    a Slack that cannot take it is logged, never raised: the work it reports is done."""
    try:
        await client.chat_postMessage(channel=user_id, text=message.text, blocks=message.blocks)
    except (SlackApiError, OSError, TimeoutError) as error:
        log.warning("could not tell %s: %s", user_id, error)


class StatusReporter:
    """Status messages never hold back an email: ``show`` does not raise.

    What Slack could not take (an outage, a timeout) is kept, newest message per delivery,
    and shown again by ``catch_up`` once Slack answers; what Slack refused for good
    (uninstalled, a closed DM) is dropped with a log line.
    """

    def __init__(
        self, *, slack: Callable[[Delivery], Awaitable[AsyncWebClient]], database: SessionFactory
    ) -> None:
        self._slack = slack  # the client of the delivery's workspace
        self._database = database
        self._behind: dict[str, tuple[Delivery, Message]] = {}

    @property
    def behind(self) -> int:
        """Status messages waiting for Slack to come back."""
        return len(self._behind)

    async def show(self, delivery: Delivery, message: Message) -> None:
        """Post the status message (to the user's app DM) or update it in place."""
        self._behind.pop(delivery.id, None)  # the newest message replaces a waiting one
        try:
            await self._show(delivery, message)
        except SlackApiError as error:
            reason = error.response.get("error")
            if reason in TRANSIENT_SLACK_ERRORS or error.response.status_code >= 500:
                self._behind[delivery.id] = (delivery, message)
            log.warning("status message for delivery %s failed: %s", delivery.id, reason)
        except XenoceptError as error:  # the workspace uninstalled the app meanwhile
            log.warning("status message for delivery %s failed: %s", delivery.id, error)
        except Exception as error:  # Slack unreachable, or our database: try again later
            self._behind[delivery.id] = (delivery, message)
            log.warning(
                "status message for delivery %s is waiting: %s",
                delivery.id,
                error or type(error).__name__,
            )

    async def catch_up(self) -> int:
        """Show again what Slack could not take; returns how many are still waiting."""
        for delivery, message in list(self._behind.values()):
            await self.show(delivery, message)
        return len(self._behind)

    async def _show(self, delivery: Delivery, message: Message) -> None:
        client = await self._slack(delivery)
        if delivery.status_channel and delivery.status_ts:
            await client.chat_update(
                channel=delivery.status_channel,
                ts=delivery.status_ts,
                text=message.text,
                blocks=message.blocks,
            )
            return
        response = await client.chat_postMessage(
            channel=delivery.user_id, text=message.text, blocks=message.blocks
        )
        delivery.status_channel, delivery.status_ts = response["channel"], response["ts"]
        try:
            async with transaction(self._database) as db:
                await deliveries.set_status_message(
                    db=db,
                    delivery_id=delivery.id,
                    channel=response["channel"],
                    ts=response["ts"],
                )
        except Exception as error:  # the message exists; only a restart would post anew
            log.warning("could not store the status message of delivery %s: %s", delivery.id, error)
