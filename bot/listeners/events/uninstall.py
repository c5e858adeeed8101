"""Uninstalled (``app_uninstalled``) or bot token revoked (``tokens_revoked``): the
workspace's tokens, destinations (with their sealed passwords), drafts and sends are
deleted. An organisation-wide install removes the whole organisation's."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.listeners.common import services_of
from storage import installations
from storage.db import transaction

log = logging.getLogger(__name__)


async def app_uninstalled(context: AsyncBoltContext) -> None:
    await forget(context)


async def tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if (event.get("tokens") or {}).get("bot"):  # user tokens: we hold none
        await forget(context)


async def forget(context: AsyncBoltContext) -> None:
    enterprise = context.enterprise_id or ""
    team = None if context.is_enterprise_install else (context.team_id or "")
    async with transaction(services_of(context).sessions) as session:
        removed = await installations.forget_workspace(session=session,
                                                       enterprise_id=enterprise, team_id=team)
    log.info("uninstalled from %s: its token and %d destination(s) deleted",
             team or enterprise, removed)
