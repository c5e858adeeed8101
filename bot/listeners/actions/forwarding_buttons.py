"""Buttons of forwarding without the menu: Change (a reaction's send, in the send modal)
and Stop (a follow)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import NotYours
from bot.follow_service import list_follows, stop_follow
from bot.home import publish_home
from bot.listeners.common import open_send_modal, owner_of, reply_privately, services_of
from bot.sending import start_change
from bot.views import messages


async def change_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    try:
        start = await start_change(
            services_of(context),
            owner=owner_of(context),
            client=client,
            delivery_id=str(action.get("value", "")),
        )
    except NotYours:
        await reply_privately(context, client, messages.send_not_yours())
        return
    await open_send_modal(client, body["trigger_id"], start)


async def stop_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    """Stops the follow (only the clicker's own: another's id changes nothing) and shows
    what is left, in place; Home is published again too, wherever the click came from."""
    services, owner = services_of(context), owner_of(context)
    await stop_follow(services, owner=owner, follow_id=str(action.get("value", "")))
    remaining = await list_follows(services, owner=owner)
    if (body.get("container") or {}).get("type") == "message":
        await reply_privately(
            context, client, messages.follow_list(remaining), replace_original=True
        )
    await publish_home(services, client, owner)
