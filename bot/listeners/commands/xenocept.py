"""``/xenocept SUBCOMMAND [NAME]``: add [PROVIDER], list, edit, remove, test, history, help;
reaction, default, follow, following, unfollow; connect [LABEL], keys; and for admins
admin and audit [DAYS]."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.advice import for_refusal
from bot.destination_service import (
    find_by_name,
    owned_destinations,
    recent_history,
    request_test,
    slack_request_key,
)
from bot.errors import PolicyRefusal
from bot.listeners.commands.admin import admin_command, audit_command
from bot.listeners.commands.forwarding import (
    default_command,
    follow_command,
    following_command,
    reaction_command,
    unfollow_command,
)
from bot.listeners.commands.sharing import connect_command, keys_command
from bot.listeners.common import local_hosts_allowed, owner_of, services_of, setup_modal
from bot.policy_service import listed_destinations, workspace_policy
from bot.presets import ICLOUD, find_preset, preset_for, unavailable_reason
from bot.views import messages

NEEDS_NAME = {"edit", "remove", "test"}
FORWARDING = {"reaction", "default", "follow", "following", "unfollow"}


async def xenocept_command(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    verb, _, rest = (command.get("text") or "").strip().partition(" ")
    verb, name = verb.lower(), rest.strip()
    if verb == "add":
        await _add(name, ack, command, client, context)
    elif verb in NEEDS_NAME:
        await _named(verb, name, ack, command, client, context)
    elif verb == "admin":
        await admin_command(ack, command, client, context)
    elif verb == "audit":
        await audit_command(name, ack, client, context)
    elif verb in FORWARDING:
        await _forwarding(verb, name, ack, client, context)
    elif verb == "connect":
        await connect_command(name, ack, context)
    elif verb == "keys":
        await keys_command(ack, context)
    elif verb in ("list", "history"):
        await ack(**vars(await _listing(verb, context)))
    elif verb in ("", "help"):
        policy = await workspace_policy(services_of(context), owner_of(context))
        await ack(**vars(messages.help_message(policy)))
    else:
        await ack(**vars(messages.unknown_command(command.get("text", ""))))


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
        await ack(**vars(messages.unknown_provider(name, local_allowed=local)))
        return
    reason = unavailable_reason(preset, local_allowed=local)
    if reason is not None:
        await ack(**vars(messages.provider_unavailable(preset, reason, local_allowed=local)))
        return
    await ack()
    await client.views_open(
        trigger_id=command["trigger_id"], view=await setup_modal(context, preset=preset)
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
    found = await find_by_name(services, owner=owner, name=name) if name else None
    if found is None:
        mine = [d.name for d in await owned_destinations(services, owner=owner)]
        await ack(**vars(messages.no_such_destination(name, verb=verb, names=mine)))
    elif verb == "edit":
        await ack()
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=await setup_modal(context, preset=preset_for(found.provider), destination=found),
        )
    elif verb == "remove":
        await ack(**vars(messages.confirm_remove(found)))
    else:
        key = slack_request_key("command", command.get("trigger_id"))
        try:
            await request_test(services, owner=owner, destination_id=found.id, dedupe_key=key)
        except PolicyRefusal as refusal:
            await ack(**vars(messages.policy_refused(for_refusal(refusal))))
            return
        await ack(**vars(messages.test_queued(found)))


async def _forwarding(
    verb: str, rest: str, ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if verb == "reaction":
        await reaction_command(rest, ack, context)
    elif verb == "default":
        await default_command(rest, ack, context)
    elif verb == "follow":
        await follow_command(rest, ack, client, context)
    elif verb == "following":
        await following_command(ack, context)
    else:
        await unfollow_command(rest, ack, context)


async def _listing(verb: str, context: AsyncBoltContext) -> messages.Message:
    services, owner = services_of(context), owner_of(context)
    if verb == "list":
        mine, refused = await listed_destinations(services, owner)
        return messages.destination_list(mine, not_allowed=refused)
    return messages.history(await recent_history(services, owner=owner))
