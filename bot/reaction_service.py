"""Forward with one reaction: the reacting user's chosen emoji on a message sends it to
their default destination, with no modal.

``accept_reaction`` runs before Slack's event is acknowledged (the outbox row is written
first, so an acknowledged reaction is never lost); what it returns is told to the user
after the ack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.destination_service import new_delivery
from bot.errors import Refusal
from bot.policy_service import check_send, policy_in
from bot.render.request import SendRequest, conversation_label
from bot.sending import check_limits, kind_of_conversation
from bot.services import Services
from bot.views.messages import send_summary
from storage import deliveries, destinations, preferences
from storage.db import DbSession, transaction
from storage.errors import NotFound
from storage.models import Delivery, DeliveryKind, DestinationPublic, Owner, UserPreference

SAME_MESSAGE_WINDOW = timedelta(days=1)  # a second reaction within it sends nothing again


@dataclass(frozen=True)
class ReactionOutcome:
    """What became of a reaction: queued, or why not (each told once, after the ack)."""

    queued: Delivery | None = None
    earlier: Delivery | None = None  # the same message was sent within the day
    refusal: Refusal | None = None
    tell_no_destination: bool = False  # the user has none: explain how to add one, once


IGNORED = ReactionOutcome()


def emoji_name(reaction: str) -> str:
    """ "email::skin-tone-2" → "email": a skin tone is the same reaction."""
    return reaction.split("::", 1)[0].strip(":").lower()


def reaction_source(channel_id: str, message_ts: str) -> str:
    return f"reaction:{channel_id}:{message_ts}"


async def accept_reaction(
    services: Services,
    *,
    owner: Owner,
    client: AsyncWebClient,
    reaction: str,
    channel_id: str,
    message_ts: str,
    event_key: str | None,
) -> ReactionOutcome:
    """Queue the reacted message for the reacting user, if the emoji is theirs."""
    async with transaction(services.database) as db:
        preference = await preferences.get_preference(db=db, owner=owner)
    if not preference.reaction or emoji_name(reaction) != preference.reaction:
        return IGNORED
    return await queue_to_default(
        services,
        owner=owner,
        client=client,
        channel_id=channel_id,
        message_ts=message_ts,
        source=reaction_source(channel_id, message_ts),
        dedupe_key=event_key,
        preference=preference,
    )


async def queue_to_default(
    services: Services,
    *,
    owner: Owner,
    client: AsyncWebClient,
    channel_id: str,
    message_ts: str,
    source: str,
    dedupe_key: str | None,
    preference: UserPreference | None = None,
    tell_each_time: bool = False,
) -> ReactionOutcome:
    """One gesture (a reaction, an Email me button): the message, or its whole thread, to
    the owner's default destination. The same ``source`` within a day sends nothing
    again; "no destination" is told once, or each time (``tell_each_time``, a button)."""
    kind = await kind_of_conversation(
        services, client, owner=owner, channel_id=channel_id, name=None
    )
    request = SendRequest(
        channel_id=channel_id,
        channel_name=None,
        message_ts=message_ts,
        thread_ts=None,
        scope="thread",
        subject="",  # the renderer's: a session's first Note, else the first words
        note=None,
        conversation_kind=kind,
        scope_follows_message=True,
    )
    async with transaction(services.database) as db:
        earlier = await deliveries.from_source_since(
            db=db, owner=owner, source=source, since=services.clock() - SAME_MESSAGE_WINDOW
        )
        if earlier is not None:  # a Slack retry of the same event says nothing again
            return IGNORED if earlier.dedupe_key == dedupe_key else ReactionOutcome(earlier=earlier)
        destination = await default_destination(db, owner, preference)
        if destination is None:
            if tell_each_time:
                return ReactionOutcome(tell_no_destination=True)
            return await _no_destination(services, db, owner)

        async def checked() -> Delivery:
            check_send(await policy_in(db, owner), destination, request)
            await check_limits(services, db, owner, destination)
            where = conversation_label(channel_id, None)
            return new_delivery(
                destination,
                kind=DeliveryKind.SESSION,
                request_json=request.dump(),
                summary=send_summary("message", where),
                source=source,
                at=services.clock(),
            )

        try:
            delivery, queued = await deliveries.enqueue_once(
                db=db, owner=owner, dedupe_key=dedupe_key, build=checked
            )
        except Refusal as refusal:
            return ReactionOutcome(refusal=refusal)
    if not queued:
        return IGNORED
    services.wake_outbox()
    return ReactionOutcome(queued=delivery)


async def default_destination(
    db: DbSession, owner: Owner, preference: UserPreference | None = None
) -> DestinationPublic | None:
    """The one the user marked as default, else the one used last, else their first
    (``preference``: the owner's, when the caller has just read it)."""
    preference = preference or await preferences.get_preference(db=db, owner=owner)
    for chosen in (
        preference.default_destination_id,
        await deliveries.last_used_destination_id(db=db, owner=owner),
    ):
        if chosen:
            try:
                return await destinations.get_destination(db=db, owner=owner, destination_id=chosen)
            except NotFound:
                continue  # removed since
    mine = await destinations.list_destinations(db=db, owner=owner)
    return mine[0] if mine else None


async def _no_destination(services: Services, db: DbSession, owner: Owner) -> ReactionOutcome:
    preference = await preferences.get_preference(db=db, owner=owner)
    if preference.told_no_destination_at is not None:
        return IGNORED
    await preferences.save_preference(db=db, owner=owner, told_no_destination_at=services.clock())
    return ReactionOutcome(tell_no_destination=True)


async def set_reaction(services: Services, *, owner: Owner, emoji: str) -> None:
    """``emoji`` (a name, colons optional) forwards from now on; "" turns reactions off."""
    async with transaction(services.database) as db:
        await preferences.save_preference(db=db, owner=owner, reaction=emoji_name(emoji))


async def current_reaction(services: Services, *, owner: Owner) -> str:
    async with transaction(services.database) as db:
        return (await preferences.get_preference(db=db, owner=owner)).reaction


async def set_default(services: Services, *, owner: Owner, name: str) -> DestinationPublic | None:
    """Mark the owner's destination called ``name`` as the default; None if none is."""
    async with transaction(services.database) as db:
        try:
            found = await destinations.find_destination(db=db, owner=owner, name=name)
        except NotFound:
            return None
        await preferences.save_preference(db=db, owner=owner, default_destination_id=found.id)
        return found
