"""``/xenocept reaction``, ``default``, ``follow``, ``following`` and ``unfollow``:
forwarding without the message menu."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.advice import for_refusal
from bot.destination_service import owned_destinations
from bot.errors import Refusal
from bot.follow_service import (
    find_follow,
    list_follows,
    parse_follow,
    start_follow,
    stop_follow,
)
from bot.listeners.common import owner_of, reply_privately, services_of
from bot.reaction_service import current_reaction, set_default, set_reaction
from bot.views import messages


async def reaction_command(words: str, ack: AsyncAck, context: AsyncBoltContext) -> None:
    services, owner = services_of(context), owner_of(context)
    emoji = words.strip().strip(":")
    if not emoji or " " in emoji:
        current = await current_reaction(services, owner=owner)
        await ack(**vars(messages.reaction_usage(current)))
        return
    chosen = "" if emoji.lower() == "off" else emoji
    await set_reaction(services, owner=owner, emoji=chosen)
    await ack(**vars(messages.reaction_set(await current_reaction(services, owner=owner))))


async def default_command(name: str, ack: AsyncAck, context: AsyncBoltContext) -> None:
    services, owner = services_of(context), owner_of(context)
    found = await set_default(services, owner=owner, name=name) if name else None
    if found is None:
        mine = [d.name for d in await owned_destinations(services, owner=owner)]
        await ack(**vars(messages.no_such_destination(name, verb="default", names=mine)))
        return
    await ack(**vars(messages.default_set(found)))


async def follow_command(
    text: str, ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Acked at once: finding the channel and its members may take Slack a while."""
    ask = parse_follow(text)
    if ask is None:
        await ack(**vars(messages.follow_usage()))
        return
    await ack()
    try:
        follow = await start_follow(
            services_of(context), owner=owner_of(context), client=client, ask=ask
        )
    except Refusal as refusal:
        await reply_privately(context, client, messages.follow_refused(for_refusal(refusal)))
        return
    await reply_privately(context, client, messages.follow_started(follow))


async def following_command(ack: AsyncAck, context: AsyncBoltContext) -> None:
    follows = await list_follows(services_of(context), owner=owner_of(context))
    await ack(**vars(messages.follow_list(follows)))


async def unfollow_command(typed: str, ack: AsyncAck, context: AsyncBoltContext) -> None:
    services, owner = services_of(context), owner_of(context)
    found = await find_follow(services, owner=owner, typed=typed) if typed else None
    if found is None:
        await ack(**vars(messages.not_following(typed) if typed else messages.follow_usage()))
        return
    await stop_follow(services, owner=owner, follow_id=found.id)
    await ack(**vars(messages.unfollowed(found)))
