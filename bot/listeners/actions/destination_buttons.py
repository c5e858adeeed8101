"""Buttons on App Home, on destination lists and on test reports.

Every destination id in a button value is checked against the clicking user in the
storage layer: someone else's id is refused and nothing is sent or changed.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.advice import for_refusal
from bot.destination_service import (
    find_owned,
    remove_destination,
    request_test,
    slack_request_key,
)
from bot.errors import PolicyRefusal
from bot.home import publish_home
from bot.listeners.common import (
    owner_of,
    reply_privately,
    services_of,
    setup_modal,
)
from bot.presets import ICLOUD, preset_for
from bot.views import messages
from storage.errors import NotFound
from storage.models import DestinationPublic


async def add_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=await setup_modal(context, preset=ICLOUD),
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
        await reply_privately(context, client, messages.destination_not_yours())
    except PolicyRefusal as refusal:
        await reply_privately(context, client, messages.policy_refused(for_refusal(refusal)))


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
        await reply_privately(context, client, messages.destination_not_yours())
        return
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=await setup_modal(context, preset=preset_for(found.provider), destination=found),
    )


async def remove_clicked(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    found = await _owned(context, action)
    await reply_privately(
        context,
        client,
        messages.confirm_remove(found) if found else messages.destination_not_yours(),
    )


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
        await reply_privately(context, client, messages.destination_not_yours())
        return
    await reply_privately(
        context, client, messages.removed(gone, preset_for(gone.provider)), replace_original=True
    )
    await publish_home(services, client, owner)


async def remove_cancelled(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    found = await _owned(context, action)
    await reply_privately(context, client, messages.kept(found), replace_original=True)


async def _owned(context: AsyncBoltContext, action: dict[str, Any]) -> DestinationPublic | None:
    return await find_owned(
        services_of(context), owner=owner_of(context), destination_id=str(action.get("value"))
    )
