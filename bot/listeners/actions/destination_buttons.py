"""Buttons on App Home, on destination lists and on test reports.

Every destination id in a button value is checked against the clicking user in the
storage layer: someone else's id is refused and nothing is sent or changed.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.destination_service import remove_destination, request_test, slack_request_key
from bot.home import publish_home
from bot.listeners.common import local_hosts_allowed, owner_of, reply_privately, services_of
from bot.presets import ICLOUD, preset_for
from bot.views import messages
from bot.views.common import escape
from bot.views.destination_modal import destination_modal
from storage import destinations
from storage.db import transaction
from storage.errors import NotFound
from storage.models import Destination

NOT_YOURS = messages.plain("That destination is not yours or was removed: nothing was done.")


async def add_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=destination_modal(preset=ICLOUD, local_allowed=local_hosts_allowed(context)),
    )


async def test_clicked(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    try:
        await request_test(
            services_of(context),
            owner=owner_of(context),
            destination_id=str(action.get("value")),
            dedupe_key=slack_request_key("action", body.get("trigger_id"), action.get("action_id")),
        )
    except NotFound:
        await reply_privately(context, client, NOT_YOURS)


async def edit_clicked(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    found = await _owned(context, action)
    if found is None:
        await reply_privately(context, client, NOT_YOURS)
        return
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=destination_modal(preset=preset_for(found.provider), destination=found),
    )


async def remove_clicked(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    found = await _owned(context, action)
    await reply_privately(context, client, messages.confirm_remove(found) if found else NOT_YOURS)


async def remove_confirmed(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    services, owner = services_of(context), owner_of(context)
    try:
        gone = await remove_destination(
            services, owner=owner, destination_id=str(action.get("value"))
        )
    except NotFound:
        await reply_privately(context, client, NOT_YOURS)
        return
    await reply_privately(
        context, client, messages.removed(gone, preset_for(gone.provider)), replace_original=True
    )
    await publish_home(services.database, client, owner)


async def remove_cancelled(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    found = await _owned(context, action)
    name = escape(found.name) if found else "the destination"
    await reply_privately(context, client, messages.plain(f"Kept {name}."), replace_original=True)


async def _owned(context: AsyncBoltContext, action: dict[str, Any]) -> Destination | None:
    async with transaction(services_of(context).database) as db:
        try:
            return await destinations.get_destination(
                db=db, owner=owner_of(context), destination_id=str(action.get("value"))
            )
        except NotFound:
            return None
