"""What every handler needs: the services, the requesting owner, a way to reply."""

from __future__ import annotations

import logging

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.forms import DestinationForm
from bot.hostguard import allows_loopback
from bot.policy_service import workspace_policy
from bot.presets import Preset
from bot.sending import SendStart
from bot.services import Services
from bot.views.destination_modal import destination_modal
from bot.views.messages import Message
from bot.views.send_modal import SendMetadata, send_modal
from storage.errors import StorageUnavailable
from storage.models import DestinationPublic, Owner

log = logging.getLogger(__name__)

SERVICES_KEY = "xenocept_services"


def services_of(context: AsyncBoltContext) -> Services:
    services = context[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def local_hosts_allowed(context: AsyncBoltContext) -> bool:
    """Whether the operator allows local SMTP hosts (Proton Mail Bridge, a Postfix relay)."""
    return allows_loopback(services_of(context).settings.allowed_smtp_hosts)


def owner_of(context: AsyncBoltContext) -> Owner:
    """The requesting user; the workspace (or org, for org-wide installs) scopes them."""
    team = context.team_id or context.enterprise_id or ""
    assert context.user_id, "every interaction we handle names its user"
    return Owner(team_id=team, user_id=context.user_id, enterprise_id=context.enterprise_id or "")


async def setup_modal(
    context: AsyncBoltContext,
    *,
    preset: Preset,
    destination: DestinationPublic | None = None,
    values: DestinationForm | None = None,
) -> View:
    """The destination setup modal as this workspace offers it: local providers when the
    operator allows them, the allowed recipient domains under To."""
    services = services_of(context)
    policy = await workspace_policy(services, owner_of(context))
    return destination_modal(
        preset=preset,
        destination=destination,
        local_allowed=local_hosts_allowed(context),
        values=values,
        allowed_domains=policy.allowed_domains,
    )


async def reply_privately(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    message: Message,
    *,
    replace_original: bool = False,
) -> None:
    """Ephemeral where the interaction came from a message, else the user's app DM.

    App Home buttons carry no response_url (Bolt's ``respond`` then raises), and a
    response_url stops working after 30 minutes or five uses: both reach the app DM.
    """
    try:
        if context.response_url and context.respond is not None:
            answer = await context.respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace_original,
            )
            if answer.status_code == 200:
                return
            log.info("response_url answered %s; writing to the app DM", answer.status_code)
        await client.chat_postMessage(
            channel=context.user_id or "", text=message.text, blocks=message.blocks
        )
    except (SlackApiError, OSError) as error:
        log.warning("could not reply to %s: %s", context.user_id, error)


async def open_send_modal(client: AsyncWebClient, trigger_id: str, start: SendStart) -> None:
    """The send modal as a send starts: the shortcut's, or a reaction's Change…."""
    view = send_modal(
        destinations=start.destinations,
        default_id=start.last_used_id,
        scope=start.scope,
        subject=start.subject,
        metadata=SendMetadata(draft_id=start.draft_id),
    )
    await client.views_open(trigger_id=trigger_id, view=view)


def retry_later(error: StorageUnavailable) -> BoltResponse:
    """An event that could not be queued is not acknowledged: Slack sends it again
    (a few times, over minutes), so a passing database outage loses nothing."""
    log.warning("could not queue an event (%s); Slack will send it again", error.reason)
    return BoltResponse(status=503, body="")
