"""Following a channel: new Xenocept sessions (or every new message) posted there go to
the follower's destination by themselves, one by one or as a daily digest.

``accept_channel_message`` runs before Slack's event is acknowledged, so a message the
bot acknowledged is queued (or collected for the digest) and never lost; Slack's retries
of an event find the same rows. The worker (``bot.delivery``) applies the rate limits,
checks the follower is still in the channel, and sends digests when they fall due.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import audit_service
from bot.advice import for_refusal
from bot.destination_service import new_delivery
from bot.errors import (
    ChannelNotFound,
    NoDestinationToFollowWith,
    NotAMember,
    PolicyRefusal,
    SlackDataError,
)
from bot.policy import conversation_kind
from bot.policy_service import check_route, check_send, policy_in
from bot.reaction_service import default_destination
from bot.render.layout import zone_of
from bot.render.request import SendRequest, conversation_label
from bot.render.session import may_hold_session
from bot.services import Services
from bot.slackdata.channels import find_channel, is_member
from bot.slackdata.users import People
from bot.views import messages
from storage import deliveries, destinations, follows
from storage.db import DbSession, transaction
from storage.errors import Conflict, NotFound
from storage.models import Delivery, DeliveryKind, DestinationPublic, Follow, FollowMode, Owner

DIGEST_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
FORWARDED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


@dataclass(frozen=True)
class FollowAsk:
    """``/xenocept follow #channel [destination name] [sessions|all] [daily HH:MM]``."""

    channel: str
    destination_name: str | None = None
    mode: FollowMode = FollowMode.SESSIONS
    digest_time: str | None = None  # "HH:MM"


def parse_follow(text: str) -> FollowAsk | None:
    """What the command asks for; None when it is not a follow as the help shows it."""
    words = text.split()
    if not words:
        return None
    channel, rest = words[0], words[1:]
    digest = None
    if len(rest) >= 2 and rest[-2].lower() == "daily":
        found = DIGEST_TIME.match(rest[-1])
        if found is None:
            return None
        digest, rest = f"{int(found.group(1)):02d}:{found.group(2)}", rest[:-2]
    elif rest and rest[-1].lower() == "daily":
        return None  # "daily" needs its time
    mode = FollowMode.SESSIONS
    if rest and rest[-1].lower() in (FollowMode.SESSIONS, FollowMode.ALL):
        mode, rest = FollowMode(rest[-1].lower()), rest[:-1]
    return FollowAsk(channel, " ".join(rest) or None, mode, digest)


def next_digest(digest_time: str, time_zone: str, now: datetime) -> datetime:
    """The next moment after ``now`` when the clock in ``time_zone`` reads ``digest_time``."""
    hour, minute = (int(part) for part in digest_time.split(":"))
    zone = zone_of(time_zone)
    local = now.astimezone(zone)
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= local:
        at = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0)
    return at.astimezone(now.tzinfo)


async def start_follow(
    services: Services, *, owner: Owner, client: AsyncWebClient, ask: FollowAsk
) -> Follow:
    """Follow the channel for ``owner`` (replacing an earlier follow of it); refused with
    a ``FollowRefusal`` or ``PolicyRefusal`` and nothing saved."""
    channel = await find_channel(client, ask.channel)
    channel_id, name = str(channel["id"]), channel.get("name")
    label = conversation_label(channel_id, name)
    try:
        member = await is_member(client, channel_id, owner.user_id)
    except SlackDataError:
        raise ChannelNotFound(label) from None
    if not member:
        raise NotAMember(label)
    kind = conversation_kind(channel_id, name, channel)
    zone = (await People(client).get(owner.user_id)).time_zone
    now = services.clock()
    async with transaction(services.database) as db:
        destination = await _destination(db, owner, ask, label)
        check_route(await policy_in(db, owner), destination, channel_id=channel_id, kind=kind)
        follow = Follow(
            team_id=owner.team_id,
            user_id=owner.user_id,
            channel_id=channel_id,
            channel_name=name,
            conversation_kind=kind,
            destination_id=destination.id,
            destination_name=destination.name,
            mode=ask.mode,
            digest_time=ask.digest_time,
            time_zone=zone,
            next_digest_at=next_digest(ask.digest_time, zone, now) if ask.digest_time else None,
        )
        saved = await follows.save_follow(db=db, owner=owner, follow=follow)
        await audit_service.record(
            db,
            owner,
            "channel followed",
            now,
            conversation=channel_id,
            conversation_name=name,
            destination=destination.id,
            mode=ask.mode,
            digest=ask.digest_time or "",
        )
    return saved


async def _destination(
    db: DbSession, owner: Owner, ask: FollowAsk, label: str
) -> DestinationPublic:
    if ask.destination_name:
        try:
            return await destinations.find_destination(
                db=db, owner=owner, name=ask.destination_name
            )
        except NotFound:
            raise NoDestinationToFollowWith(label, name=ask.destination_name) from None
    found = await default_destination(db, owner)
    if found is None:
        raise NoDestinationToFollowWith(label)
    return found


async def stop_follow(services: Services, *, owner: Owner, follow_id: str) -> Follow | None:
    """End the owner's follow (its collected digest items go with it); None if not theirs."""
    async with transaction(services.database) as db:
        try:
            gone = await follows.delete_follow(db=db, owner=owner, follow_id=follow_id)
        except NotFound:
            return None
        await audit_service.record(
            db,
            owner,
            "channel unfollowed",
            services.clock(),
            conversation=gone.channel_id,
            conversation_name=gone.channel_name,
        )
    return gone


async def find_follow(services: Services, *, owner: Owner, typed: str) -> Follow | None:
    """The owner's follow of the channel as typed (mention, #name or id)."""
    mine = await list_follows(services, owner=owner)
    wanted = typed.strip()
    for follow in mine:
        names = {follow.channel_id, f"#{follow.channel_name}", follow.channel_name or ""}
        if wanted in names or wanted.startswith(f"<#{follow.channel_id}"):
            return follow
    return None


async def list_follows(services: Services, *, owner: Owner) -> Sequence[Follow]:
    async with transaction(services.database) as db:
        return await follows.list_follows(db=db, owner=owner)


# ---------------------------------------------------------------- a message was posted


@dataclass(frozen=True)
class FollowNotice:
    """A DM to send once the event is acknowledged (a follow stopped by the policy)."""

    owner: Owner
    message: messages.Message


def _forwarded(event: dict[str, Any], follow: Follow) -> bool:
    if event.get("subtype") not in FORWARDED_SUBTYPES or event.get("hidden"):
        return False  # edits, deletions, joins and other changes are not new posts
    ts, thread_ts = str(event.get("ts", "")), event.get("thread_ts")
    if thread_ts and thread_ts != ts and follow.mode != FollowMode.ALL:
        return False
    if follow.mode == FollowMode.SESSIONS:
        names = [str(f.get("name", "")) for f in event.get("files") or [] if isinstance(f, dict)]
        return may_hold_session(names)
    return True


def posted_message(event: dict[str, Any]) -> dict[str, Any]:
    """The message as a forward stores it: the event without its envelope fields."""
    return {
        key: value
        for key, value in event.items()
        if key not in ("type", "channel", "channel_type", "event_ts", "client_msg_id")
    }


async def accept_channel_message(
    services: Services, *, team_id: str, event: dict[str, Any]
) -> list[FollowNotice]:
    """Queue the new message for every follower of its channel who wants it."""
    channel_id = str(event.get("channel", ""))
    async with transaction(services.database) as db:
        followers = await follows.follows_of_channel(db=db, team_id=team_id, channel_id=channel_id)
    wanted = [f for f in followers if _forwarded(event, f) and not _stopped(f)]
    notices: list[FollowNotice] = []
    queued = False
    for follow in wanted:
        try:
            async with transaction(services.database) as db:
                notice, made = await _accept_for(services, db, follow, event)
        except Conflict:  # another instance took the same retry at the same moment
            continue
        queued = queued or made
        if notice is not None:
            notices.append(notice)
    if queued:
        services.wake_outbox()
    return notices


def _stopped(follow: Follow) -> bool:
    """Paused until the follower changes something (not merely for the day)."""
    return follow.paused_reason is not None and follow.paused_until is None


async def _accept_for(
    services: Services, db: DbSession, follow: Follow, event: dict[str, Any]
) -> tuple[FollowNotice | None, bool]:
    owner, message = follow.owner, posted_message(event)
    ts = str(event.get("ts", ""))
    request = SendRequest(
        channel_id=follow.channel_id,
        channel_name=follow.channel_name,
        message_ts=ts,
        thread_ts=event.get("thread_ts"),
        scope="message",
        subject="",
        note=None,
        message=message,
        conversation_kind=follow.conversation_kind,
    )
    try:
        destination = await destinations.get_destination(
            db=db, owner=owner, destination_id=follow.destination_id
        )
        check_send(await policy_in(db, owner), destination, request)
    except (NotFound, PolicyRefusal) as problem:
        reason = (
            messages.FOLLOW_DESTINATION_GONE
            if isinstance(problem, NotFound)
            else for_refusal(problem)
        )
        changed = await follows.pause_follow(
            db=db, owner=owner, follow_id=follow.id, reason=reason, until=None
        )
        notice = FollowNotice(owner, messages.follow_stopped(follow, reason)) if changed else None
        return notice, False
    if follow.digest_time:
        await follows.collect_item(
            db=db,
            follow=follow,
            message_ts=ts,
            message_json=json.dumps(message),
            at=services.clock(),
        )
        return None, False

    async def build() -> Delivery:
        where = conversation_label(follow.channel_id, follow.channel_name)
        return new_delivery(
            destination,
            kind=DeliveryKind.SESSION,
            request_json=request.dump(),
            summary=messages.send_summary("message", where),
            source=follow_source(follow.id),
            at=services.clock(),
        )

    _, made = await deliveries.enqueue_once(
        db=db, owner=owner, dedupe_key=f"follow:{follow.id}:{ts}", build=build
    )
    return None, made


def follow_source(follow_id: str) -> str:
    return f"follow:{follow_id}"


def follow_id_of(delivery: Delivery) -> str | None:
    source = delivery.source or ""
    return source.removeprefix("follow:") if source.startswith("follow:") else None


# ---------------------------------------------------------------- digests


async def enqueue_due_digests(services: Services) -> int:
    """Every digest whose time has come becomes one delivery; returns how many."""
    now = services.clock()
    async with transaction(services.database) as db:
        due = await follows.digests_due(db=db, now=now)
    made = 0
    for follow in due:
        try:
            async with transaction(services.database) as db:
                made += await _digest(services, db, follow, now)
        except Conflict:  # another instance made this digest
            continue
    if made:
        services.wake_outbox()
    return made


async def _digest(services: Services, db: DbSession, follow: Follow, now: datetime) -> int:
    assert follow.digest_time and follow.next_digest_at
    due_at = follow.next_digest_at
    await follows.set_next_digest(
        db=db, follow=follow, at=next_digest(follow.digest_time, follow.time_zone, now)
    )
    try:
        destination = await destinations.get_destination(
            db=db, owner=follow.owner, destination_id=follow.destination_id
        )
    except NotFound:
        return 0  # the items wait: a new follow with a destination sends them
    items = await follows.take_items(db=db, follow=follow)
    if not items:
        return 0
    where = conversation_label(follow.channel_id, follow.channel_name)
    request = SendRequest(
        channel_id=follow.channel_id,
        channel_name=follow.channel_name,
        message_ts="",
        thread_ts=None,
        scope="message",
        subject=messages.digest_subject(
            where, len(items), due_at.astimezone(zone_of(follow.time_zone))
        ),
        note=None,
        conversation_kind=follow.conversation_kind,
        digest=tuple(json.loads(item.message_json) for item in items),
    )

    async def build() -> Delivery:
        return new_delivery(
            destination,
            kind=DeliveryKind.SESSION,
            request_json=request.dump(),
            summary=messages.digest_summary(where, len(items)),
            source=follow_source(follow.id),
            at=now,
        )

    _, made = await deliveries.enqueue_once(
        db=db,
        owner=follow.owner,
        dedupe_key=f"digest:{follow.id}:{due_at.isoformat()}",
        build=build,
    )
    return int(made)
