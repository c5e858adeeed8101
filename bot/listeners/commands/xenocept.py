"""``/xenocept SUBCOMMAND [NAME]``: add [PROVIDER], list, edit, remove, test, history, help."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.destination_service import owned_destinations, request_test, slack_request_key
from bot.listeners.common import local_hosts_allowed, owner_of, services_of
from bot.presets import ICLOUD, find_preset, preset_for, unavailable_reason
from bot.views import messages
from bot.views.common import escape
from bot.views.destination_modal import destination_modal
from storage import deliveries, destinations
from storage.db import transaction
from storage.errors import NotFound
from storage.models import Destination, Owner

NEEDS_NAME = {"edit", "remove", "test"}


async def xenocept_command(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    verb, _, rest = (command.get("text") or "").strip().partition(" ")
    verb, name = verb.lower(), rest.strip()
    if verb == "add":
        await _add(name, ack, command, client, context)
    elif verb in NEEDS_NAME:
        await _named(verb, name, ack, command, client, context)
    elif verb in ("list", "history"):
        await ack(**vars(await _listing(verb, context)))
    elif verb in ("", "help"):
        await ack(**vars(messages.help_message()))
    else:
        await ack(**vars(_unknown(command.get("text", ""))))


async def _add(
    name: str,
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Open the setup modal on the provider named (iCloud when none); else say why not."""
    local = local_hosts_allowed(context)
    preset = find_preset(name) if name else ICLOUD
    if preset is None:
        await ack(
            **vars(
                messages.provider_choices(
                    f"I don't know the provider `{escape(name[:40])}`.", local_allowed=local
                )
            )
        )
        return
    reason = unavailable_reason(preset, local_allowed=local)
    if reason is not None:
        await ack(
            **vars(
                messages.provider_choices(
                    f"*{preset.label}* is not available here. {reason}", local_allowed=local
                )
            )
        )
        return
    await ack()
    await client.views_open(
        trigger_id=command["trigger_id"], view=destination_modal(preset=preset, local_allowed=local)
    )


async def _named(
    verb: str,
    name: str,
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    services, owner = services_of(context), owner_of(context)
    found = await _find(context, owner, name) if name else None
    if found is None:
        await ack(**vars(await _not_found(context, owner, name, verb)))
    elif verb == "edit":
        await ack()
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=destination_modal(preset=preset_for(found.provider), destination=found),
        )
    elif verb == "remove":
        await ack(**vars(messages.confirm_remove(found)))
    else:
        await request_test(
            services,
            owner=owner,
            destination_id=found.id,
            dedupe_key=slack_request_key("command", command.get("trigger_id")),
        )
        await ack(
            **vars(
                messages.plain(
                    f"⏳ Sending a test session to *{escape(found.name)}*… The result appears in "
                    "your Xenocept app messages."
                )
            )
        )


async def _find(context: AsyncBoltContext, owner: Owner, name: str) -> Destination | None:
    async with transaction(services_of(context).database) as db:
        try:
            return await destinations.find_destination(db=db, owner=owner, name=name)
        except NotFound:
            return None


async def _not_found(
    context: AsyncBoltContext, owner: Owner, name: str, verb: str
) -> messages.Message:
    mine = await owned_destinations(services_of(context), owner=owner)
    return messages.no_such_destination(name, verb=verb, names=[d.name for d in mine])


async def _listing(verb: str, context: AsyncBoltContext) -> messages.Message:
    owner = owner_of(context)
    async with transaction(services_of(context).database) as db:
        if verb == "list":
            return messages.destination_list(
                await destinations.list_destinations(db=db, owner=owner)
            )
        return messages.history(await deliveries.recent_deliveries(db=db, owner=owner, limit=20))


def _unknown(text: str) -> messages.Message:
    help_message = messages.help_message()
    intro = messages.plain(f"I don't know `{escape(text.strip()[:60])}`. Here is what I can do:")
    return messages.Message(text=intro.text, blocks=intro.blocks + help_message.blocks)
