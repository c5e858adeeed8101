"""A workspace leaving: the app uninstalled, or its bot token revoked."""

from __future__ import annotations

import logging

from bot import audit_service
from bot.services import Services
from storage import installations
from storage.db import transaction
from storage.models import Owner

SLACK = "(Slack)"  # who uninstalled: Slack's event names no user

log = logging.getLogger(__name__)


async def forget_uninstalled(
    services: Services,
    *,
    enterprise_id: str,
    team_id: str,
    org_wide: bool,
    own_team: str | None,
) -> int | None:
    """Delete exactly the installation the event names, with its workspace's tokens,
    destinations (and sealed passwords), drafts and sends; an organisation-wide install
    takes the whole organisation's. Nothing when the ids match no installation: with one
    bot token (``own_team``, from auth.test) only that workspace can be forgotten.

    Returns how many destinations were removed, or None when nothing matched."""
    async with transaction(services.database) as db:
        if services.settings.installs_through_oauth:
            removed = await installations.forget_installation(
                db=db, enterprise_id=enterprise_id, team_id=team_id, org_wide=org_wide
            )
        elif not org_wide and team_id and team_id == own_team:
            removed = await installations.forget_workspace(
                db=db, enterprise_id=enterprise_id, team_id=team_id
            )
        else:
            removed = None
        if removed is not None:  # the trail stays: a reinstalled app shows it to admins
            slack = Owner(team_id, SLACK, enterprise_id)
            await audit_service.record(
                db, slack, "app uninstalled", services.clock(), org_wide=org_wide
            )
    if removed is None:
        log.warning(
            "uninstall event for %s matches no installation: nothing deleted",
            team_id or enterprise_id or "no workspace",
        )
    else:
        log.info(
            "uninstalled from %s: its token and %d destination(s) deleted",
            enterprise_id if org_wide else team_id,
            removed,
        )
    return removed
