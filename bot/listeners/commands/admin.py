"""``/xenocept admin`` (the policy modal) and ``/xenocept audit [days]`` (the CSV export),
for the workspace's owners and admins; everyone else gets one sentence."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import NotAdmin
from bot.listeners.common import owner_of, reply_privately, services_of
from bot.policy_service import export_audit, policy_for_admin
from bot.views import messages
from bot.views.policy_modal import policy_modal

AUDIT_DAYS = 30
MAX_AUDIT_DAYS = 36_500


async def open_policy(trigger_id: str, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """After the ack: the policy modal for an admin, one sentence for anyone else."""
    try:
        policy = await policy_for_admin(services_of(context), client, owner_of(context))
    except NotAdmin:
        await reply_privately(context, client, messages.not_admin())
        return
    await client.views_open(trigger_id=trigger_id, view=policy_modal(policy))


async def admin_command(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    await open_policy(str(command.get("trigger_id", "")), client, context)


async def audit_command(
    days_text: str,
    ack: AsyncAck,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    whole = days_text.isascii() and days_text.isdigit()  # not "²", which int() refuses
    days = AUDIT_DAYS if not days_text else int(days_text) if whole else 0
    if not 1 <= days <= MAX_AUDIT_DAYS:
        await ack(**vars(messages.audit_usage()))
        return
    await ack()
    try:
        await export_audit(services_of(context), client, owner_of(context), days=days)
    except NotAdmin:
        await reply_privately(context, client, messages.not_admin())
