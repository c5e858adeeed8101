"""Submit of the "Workspace policy" modal: checked field by field, admin checked again
(a forged submission changes nothing), saved and audited, Home refreshed."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.errors import NotAdmin
from bot.home import publish_home
from bot.listeners.common import owner_of, services_of
from bot.policy import read_policy_form
from bot.policy_service import change_policy
from bot.views import messages
from storage.errors import StorageUnavailable


async def policy_form_submitted(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    services, owner = services_of(context), owner_of(context)
    policy = read_policy_form((view.get("state") or {}).get("values") or {})
    if isinstance(policy, dict):
        await ack(response_action="errors", errors=policy)
        return
    try:
        await change_policy(services, client, owner, policy)
    except NotAdmin:
        await ack(response_action="errors", errors={ids.BLOCK_POLICY_DOMAINS: messages.NOT_ADMIN})
        return
    except StorageUnavailable:
        await ack(response_action="errors", errors={ids.BLOCK_POLICY_DOMAINS: messages.NOT_SAVED})
        return
    await ack()
    await publish_home(services, client, owner)
