"""Uninstalled (``app_uninstalled``) or bot token revoked (``tokens_revoked``): the
workspace's data goes (``bot.workspace_service.forget_uninstalled``)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.listeners.common import services_of
from bot.workspace_service import forget_uninstalled


async def app_uninstalled(context: AsyncBoltContext) -> None:
    await forget(context)


async def tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if (event.get("tokens") or {}).get("bot"):  # user tokens: we hold none
        await forget(context)


async def forget(context: AsyncBoltContext) -> None:
    authorized = context.authorize_result  # a single-workspace bot: its token's workspace
    await forget_uninstalled(
        services_of(context),
        enterprise_id=context.enterprise_id or "",
        team_id=context.team_id or "",
        org_wide=bool(context.is_enterprise_install),
        own_team=authorized.team_id if authorized is not None else None,
    )
