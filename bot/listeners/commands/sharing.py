"""``/xenocept connect [label]`` and ``/xenocept keys``: share keys for ``xenocept share``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.advice import for_share
from bot.errors import ShareRefusal
from bot.listeners.common import owner_of, services_of
from bot.share_service import connect_key, share_keys_of
from bot.views import messages


async def connect_command(label: str, ack: AsyncAck, context: AsyncBoltContext) -> None:
    """The key goes out in the ack itself: ephemeral, seen by the requester only."""
    services = services_of(context)
    try:
        made = await connect_key(services, owner=owner_of(context), label=label)
    except ShareRefusal as refusal:
        await ack(**vars(messages.sharing_refused(for_share(refusal))))
        return
    server = services.settings.public_url
    await ack(**vars(messages.share_key_made(made.key, made.text, server_url=server)))


async def keys_command(ack: AsyncAck, context: AsyncBoltContext) -> None:
    keys = await share_keys_of(services_of(context), owner=owner_of(context))
    await ack(**vars(messages.share_keys_list(keys)))
