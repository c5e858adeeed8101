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
    """Exactly the installation the event names: nothing when its ids match none."""
    services = services_of(context)
    enterprise, team = context.enterprise_id or "", context.team_id or ""
    org_wide = bool(context.is_enterprise_install)
    async with transaction(services.database) as db:
        if services.settings.installs_through_oauth:
            removed = await installations.forget_installation(
                db=db, enterprise_id=enterprise, team_id=team, org_wide=org_wide
            )
        elif not org_wide and team and team == _own_team(context):
            removed = await installations.forget_workspace(
                db=db, enterprise_id=enterprise, team_id=team
            )
        else:
            removed = None
    if removed is None:
        log.warning(
            "uninstall event for %s matches no installation: nothing deleted",
            team or enterprise or "no workspace",
        )
        return
    log.info(
        "uninstalled from %s: its token and %d destination(s) deleted",
        team if not org_wide else enterprise,
        removed,
    )


def _own_team(context: AsyncBoltContext) -> str | None:
    """The one workspace a single-workspace bot's token belongs to (auth.test)."""
    result = context.authorize_result
    return result.team_id if result is not None else None
