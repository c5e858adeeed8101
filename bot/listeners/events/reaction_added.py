"""``reaction_added``: the user's chosen emoji forwards the message, no modal.

The outbox row is written in listener middleware, which Bolt runs before it acknowledges
the event: a reaction Slack saw acknowledged is queued. The listener, after the ack,
tells the user what the status message will not (no destination, a repeat, a refusal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.advice import for_refusal
from bot.delivery.status import tell
from bot.destination_service import slack_request_key
from bot.listeners.common import retry_later, services_of
from bot.reaction_service import ReactionOutcome, accept_reaction, current_reaction
from bot.views import messages
from storage.errors import StorageUnavailable
from storage.models import Owner

OUTCOME_KEY = "xenocept_reaction"


async def queue_reaction(
    body: dict[str, Any],
    event: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    next: Callable[[], Awaitable[Any]],
) -> Any:
    item = event.get("item") or {}
    if item.get("type") != "message" or not event.get("user"):
        return await next()
    try:
        context[OUTCOME_KEY] = await accept_reaction(
            services_of(context),
            owner=reactor(event, context),
            client=client,
            reaction=str(event.get("reaction", "")),
            channel_id=str(item.get("channel", "")),
            message_ts=str(item.get("ts", "")),
            event_key=slack_request_key("reaction", body.get("event_id")),
        )
    except StorageUnavailable as error:
        return retry_later(error)
    return await next()


def reactor(event: dict[str, Any], context: AsyncBoltContext) -> Owner:
    """Only the person who reacted sends: their own destinations, in their workspace."""
    team = context.team_id or context.enterprise_id or ""
    return Owner(
        team_id=team, user_id=str(event["user"]), enterprise_id=context.enterprise_id or ""
    )


async def reaction_added(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    outcome = context.get(OUTCOME_KEY)
    if not isinstance(outcome, ReactionOutcome):
        return
    owner = reactor(event, context)
    if outcome.tell_no_destination:
        emoji = await current_reaction(services_of(context), owner=owner)
        await tell(client, owner.user_id, messages.reaction_no_destination(emoji))
    elif outcome.earlier is not None:
        await tell(client, owner.user_id, messages.reaction_already_sent(outcome.earlier))
    elif outcome.refusal is not None:
        await tell(client, owner.user_id, messages.reaction_refused(for_refusal(outcome.refusal)))
