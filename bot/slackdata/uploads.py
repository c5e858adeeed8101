"""Posting files as one message with blocks: ``files_upload_v2`` (files.getUploadURLExternal,
the bytes, files.completeUploadExternal), then the message's ``ts`` and permalink.

Slack shares uploaded files asynchronously: completeUploadExternal answers before the
message exists, so its ``ts`` is read from files.info once the share appears there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slackdata.failures import slack_data_error

FILES_PER_MESSAGE = 10  # what Slack shows on one message (more: internal_error at 15)
SHARE_WAITS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)  # seconds between files.info polls


@dataclass(frozen=True)
class Upload:
    name: str
    title: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Posted:
    channel_id: str
    ts: str | None  # None: Slack had not shown the share yet when we stopped asking
    permalink: str | None


async def post_files(
    client: AsyncWebClient,
    *,
    channel_id: str,
    uploads: Sequence[Upload],
    blocks: Sequence[dict[str, Any]],
) -> Posted:
    """One message in ``channel_id`` carrying ``uploads`` under ``blocks``."""
    if not 0 < len(uploads) <= FILES_PER_MESSAGE:
        raise ValueError(f"a message carries 1 to {FILES_PER_MESSAGE} files")
    try:
        completed = await client.files_upload_v2(
            file_uploads=[
                {"file": upload.content, "filename": upload.name, "title": upload.title}
                for upload in uploads
            ],
            channel=channel_id,
            blocks=json.dumps(list(blocks)),  # no initial_comment: Slack would ignore blocks
        )
    except (SlackApiError, SlackRequestError, aiohttp.ClientError, TimeoutError) as error:
        raise slack_data_error(error, "files.completeUploadExternal") from None
    files = completed.get("files") or []
    file_id = str(files[0].get("id", "")) if files else ""
    ts = await _shared_ts(client, file_id, channel_id) if file_id else None
    return Posted(channel_id, ts, await _permalink(client, channel_id, ts))


async def _shared_ts(client: AsyncWebClient, file_id: str, channel_id: str) -> str | None:
    for wait in (0.0, *SHARE_WAITS):
        await asyncio.sleep(wait)
        try:
            info = await client.files_info(file=file_id)
        except (SlackApiError, aiohttp.ClientError, TimeoutError):
            continue
        shares = (info.get("file") or {}).get("shares") or {}
        for visibility in ("public", "private"):
            posts = (shares.get(visibility) or {}).get(channel_id) or []
            if posts and posts[0].get("ts"):
                return str(posts[0]["ts"])
    return None


async def _permalink(client: AsyncWebClient, channel_id: str, ts: str | None) -> str | None:
    if ts is None:
        return None
    try:
        answer = await client.chat_getPermalink(channel=channel_id, message_ts=ts)
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        return None
    return str(answer.get("permalink") or "") or None


async def direct_message_channel(client: AsyncWebClient, user_id: str) -> str:
    """The user's DM with the app (conversations.open)."""
    try:
        answer = await client.conversations_open(users=user_id)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
        raise slack_data_error(error, "conversations.open") from None
    return str((answer.get("channel") or {}).get("id", ""))
