"""``user_change``: a user deactivated in Slack shares nothing more (their keys go)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.listeners.common import services_of
from bot.share_service import revoke_keys_of_departed
from storage.models import Owner


async def user_changed(event: dict[str, Any], context: AsyncBoltContext) -> None:
    user = event.get("user")
    if not isinstance(user, dict) or not user.get("deleted") or not user.get("id"):
        return
    owner = Owner(
        team_id=context.team_id or context.enterprise_id or "",
        user_id=str(user["id"]),
        enterprise_id=context.enterprise_id or "",
    )
    await revoke_keys_of_departed(services_of(context), owner=owner)
