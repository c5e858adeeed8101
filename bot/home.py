"""Publishing a user's App Home: their destinations and recent sends, and for the
workspace's admins its policy and latest audit entries."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import audit_service
from bot.policy_service import is_admin, not_allowed_ids, policy_in
from bot.services import Services
from bot.views.home import AUDIT_SHOWN, AdminSection, home_view
from storage import deliveries, destinations, follows
from storage.db import transaction
from storage.models import Owner

log = logging.getLogger(__name__)


async def publish_home(services: Services, client: AsyncWebClient, owner: Owner) -> None:
    shows_policy = await is_admin(services, client, owner)
    async with transaction(services.database) as db:
        mine = await destinations.list_destinations(db=db, owner=owner)
        recent = await deliveries.recent_deliveries(db=db, owner=owner, limit=5)
        policy = await policy_in(db, owner)
        entries = await audit_service.recent(db, owner, limit=AUDIT_SHOWN) if shows_policy else []
        followed = await follows.list_follows(db=db, owner=owner)
    admin = AdminSection(policy, entries) if shows_policy else None
    view = home_view(
        destinations=mine,
        deliveries=recent,
        not_allowed=not_allowed_ids(policy, mine),
        admin=admin,
        follows=followed,
    )
    try:
        await client.views_publish(user_id=owner.user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish home for %s: %s", owner.user_id, error.response.get("error"))
