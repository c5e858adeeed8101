"""Channels as a follow needs them: found from what a user typed, and their members."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import BotNotInChannel, ChannelNotFound
from bot.slackdata.failures import slack_data_error

Json = dict[str, Any]

MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|([^>]*))?>$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
PAGE = 1000  # conversations.list and conversations.members: the most per page


async def find_channel(client: AsyncWebClient, typed: str) -> Json:
    """The channel a user named (``<#C…|name>``, ``#name``, ``name`` or its id), as
    conversations.info gives it; ``ChannelNotFound`` or ``BotNotInChannel`` if unusable."""
    typed = typed.strip()
    mention = MENTION.match(typed)
    label = f"#{mention.group(2)}" if mention and mention.group(2) else typed
    if not label.startswith("#") and not CHANNEL_ID.match(label):
        label = f"#{label}"
    if mention:
        channel_id: str | None = mention.group(1)
    elif CHANNEL_ID.match(typed):
        channel_id = typed
    else:
        channel_id = await _id_by_name(client, typed.lstrip("#").lower())
    if channel_id is None:
        raise ChannelNotFound(label)
    try:
        info = dict((await client.conversations_info(channel=channel_id))["channel"])
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        raise ChannelNotFound(label) from None
    if info.get("is_im") or info.get("is_mpim"):
        raise ChannelNotFound(label)  # only channels post to followers
    if not info.get("is_member"):
        raise BotNotInChannel(f"#{info.get('name') or channel_id}")
    return info


async def _id_by_name(client: AsyncWebClient, name: str) -> str | None:
    try:
        pages = await client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=PAGE
        )
        async for page in pages:
            for channel in page.get("channels") or []:
                if str(channel.get("name", "")).lower() == name:
                    return str(channel["id"])
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        return None
    return None


async def is_member(client: AsyncWebClient, channel_id: str, user_id: str) -> bool:
    """Whether ``user_id`` is in the channel now (conversations.members, page by page);
    ``SlackDataError`` when Slack will not say."""
    try:
        pages = await client.conversations_members(channel=channel_id, limit=PAGE)
        async for page in pages:
            if user_id in (page.get("members") or []):
                return True
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
        raise slack_data_error(error, "conversations.members") from None
    return False
