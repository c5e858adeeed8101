"""``message`` in a channel the bot is in: followers of the channel get it by email.

Queued in listener middleware, before Bolt acknowledges the event (nothing acknowledged
is lost; Slack's retries find the same rows); the listener then sends the DMs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.status import tell
from bot.follow_service import FollowNotice, accept_channel_message
from bot.listeners.common import retry_later, services_of
from storage.errors import StorageUnavailable

NOTICES_KEY = "xenocept_follow_notices"


async def queue_for_followers(
    event: dict[str, Any],
    context: AsyncBoltContext,
    next: Callable[[], Awaitable[Any]],
) -> Any:
    ours = (context.bot_id and event.get("bot_id") == context.bot_id) or (
        context.bot_user_id and event.get("user") == context.bot_user_id
    )
    if event.get("channel_type") in ("channel", "group") and not ours:
        try:
            context[NOTICES_KEY] = await accept_channel_message(
                services_of(context), team_id=context.team_id or "", event=event
            )
        except StorageUnavailable as error:
            return retry_later(error)
    return await next()


async def channel_message(client: AsyncWebClient, context: AsyncBoltContext) -> None:
    notices = context.get(NOTICES_KEY) or []
    for notice in notices:
        if isinstance(notice, FollowNotice):
            await tell(client, notice.owner.user_id, notice.message)
