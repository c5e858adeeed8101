"""Buttons of sharing: Revoke (``/xenocept keys``) and Email me (on a shared session)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.advice import for_refusal
from bot.delivery.status import tell
from bot.destination_service import slack_request_key
from bot.listeners.common import owner_of, reply_privately, services_of
from bot.share_service import email_shared, revoke_share_key, share_keys_of
from bot.views import messages
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)


async def revoke_clicked(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Revokes only the clicker's own key (another's id changes nothing), then shows what
    is left in place of the list."""
    await ack()
    services, owner = services_of(context), owner_of(context)
    revoked = await revoke_share_key(services, owner=owner, key_id=str(action.get("value", "")))
    if revoked is None:
        await reply_privately(context, client, messages.share_key_gone())
        return
    remaining = await share_keys_of(services, owner=owner)
    await reply_privately(
        context, client, messages.share_keys_list(remaining), replace_original=True
    )
    await reply_privately(context, client, messages.share_key_revoked(revoked))


async def email_me_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Queued before the ack, like a reaction: a click Slack saw answered is never lost."""
    container = body.get("container") or {}
    channel_id = str(container.get("channel_id") or (body.get("channel") or {}).get("id", ""))
    message_ts = str(container.get("message_ts") or (body.get("message") or {}).get("ts", ""))
    owner = owner_of(context)
    try:
        outcome = await email_shared(
            services_of(context),
            owner=owner,
            client=client,
            channel_id=channel_id,
            message_ts=message_ts,
            click_key=slack_request_key("email-me", action.get("action_ts"), owner.user_id),
        )
    except StorageUnavailable as error:
        # Slack does not resend a click: say plainly that nothing was queued.
        log.warning("could not queue an Email me click (%s)", error.reason)
        await ack()
        await tell(client, owner.user_id, messages.email_me_not_queued())
        return
    await ack()
    if outcome.tell_no_destination:
        await tell(client, owner.user_id, messages.email_me_no_destination())
    elif outcome.earlier is not None:
        await tell(client, owner.user_id, messages.email_me_already_sent(outcome.earlier))
    elif outcome.refusal is not None:
        await tell(client, owner.user_id, messages.reaction_refused(for_refusal(outcome.refusal)))
