"""Message shortcut "Send to email": open the send modal within Slack's trigger window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.common import owner_of, services_of
from bot.sending import draft_payload, suggested_subject
from bot.views.send_modal import (
    SendMetadata,
    no_destination_modal,
    not_saved_modal,
    send_modal,
)
from storage import deliveries, destinations, drafts
from storage.db import transaction
from storage.errors import StorageUnavailable


async def send_to_email_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    owner, services = owner_of(context), services_of(context)
    message = shortcut.get("message") or {}
    subject = await suggested_subject(
        client, where=_where(shortcut), text=str(message.get("text", ""))
    )
    try:
        async with transaction(services.sessions) as session:
            mine = await destinations.list_destinations(session=session, owner=owner)
            last = await deliveries.last_used_destination_id(session=session, owner=owner)
            draft = await drafts.create_draft(
                session=session, owner=owner, payload_json=draft_payload(shortcut, prefill=subject)
            )
            await drafts.forget_drafts_before(
                session=session, moment=services.clock() - DRAFTS_KEPT_FOR
            )
    except StorageUnavailable:  # a full disk: say so in a modal rather than open nothing
        await client.views_open(trigger_id=shortcut["trigger_id"], view=not_saved_modal())
        return
    if not mine:
        await client.views_open(trigger_id=shortcut["trigger_id"], view=no_destination_modal())
        return
    threaded = bool(message.get("thread_ts") or message.get("reply_count"))
    await client.views_open(
        trigger_id=shortcut["trigger_id"],
        view=send_modal(
            destinations=mine,
            default_id=last,
            scope="thread" if threaded else "message",
            subject=subject,
            metadata=SendMetadata(draft_id=draft.id),
        ),
    )


DRAFTS_KEPT_FOR = timedelta(days=1)  # a modal left open longer than that starts over


def _where(shortcut: dict[str, Any]) -> str:
    channel = shortcut.get("channel") or {}
    name, channel_id = channel.get("name") or "", str(channel.get("id", ""))
    if channel_id.startswith(("C", "G")) and name and name not in ("directmessage", "privategroup"):
        return f"#{name}"
    return "Direct message" if channel_id.startswith("D") else "Group message"
