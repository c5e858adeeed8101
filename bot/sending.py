"""Accepting a send: the shortcut's draft, the checks, and the outbox row.

The row is written in the same transaction that validates the request, and only then is
Slack acknowledged: an acknowledged send is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.destination_service import new_delivery
from bot.errors import (
    DailyLimit,
    HourlyLimit,
    LastTestFailed,
    NotYours,
    StaleForm,
    XenoceptError,
)
from bot.policy import conversation_kind
from bot.policy_service import check_send, policy_in
from bot.render.model import Directory
from bot.render.request import Scope, SendRequest, conversation_label, thread_parent_ts
from bot.services import Services
from bot.slackdata.fetch import Channels, read_named_message
from bot.slackdata.users import People
from bot.views.messages import only_message_summary, send_summary
from bot.views.send_modal import prefill_subject
from storage import deliveries, destinations, drafts
from storage.db import DbSession, transaction
from storage.errors import NotFound
from storage.models import Delivery, DeliveryKind, DestinationPublic, Owner


@dataclass(frozen=True)
class SendChoice:
    draft_id: str
    destination_id: str
    scope: Scope
    subject: str
    note: str | None
    dedupe_key: str | None  # Slack's view id + hash (a retried submit is the same send);
    # None when Slack sent neither: then nothing can be recognised as a retry


MENTIONED_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
NAMES_LOOKED_UP = 5  # the subject shows eight words: a handful of names at most
NAMES_WAIT = 1.0  # seconds: the modal must open within Slack's 3-second trigger window


@dataclass(frozen=True)
class SendStart:
    """What the send modal opens with: the owner's destinations, the one used last, the
    scope the message suggests, the subject we suggest, and the draft holding the message."""

    destinations: Sequence[DestinationPublic]
    last_used_id: str | None
    scope: Scope
    subject: str
    draft_id: str


async def start_send(
    services: Services, *, owner: Owner, client: AsyncWebClient, shortcut: dict[str, Any]
) -> SendStart:
    """Keep the shortcut's message as a draft and gather what the send modal shows."""
    channel = shortcut.get("channel") or {}
    message = shortcut.get("message") or {}
    channel_id, name = str(channel.get("id", "")), channel.get("name")
    where = conversation_label(channel_id, name)
    subject, kind = await asyncio.gather(
        suggested_subject(client, where=where, text=str(message.get("text", ""))),
        kind_of_conversation(services, client, owner=owner, channel_id=channel_id, name=name),
    )
    async with transaction(services.database) as db:
        mine = await destinations.list_destinations(db=db, owner=owner)
        last = await deliveries.last_used_destination_id(db=db, owner=owner)
        draft = await drafts.create_draft(
            db=db, owner=owner, payload_json=draft_payload(shortcut, prefill=subject, kind=kind)
        )
    scope: Scope = "thread" if thread_parent_ts(message) else "message"
    return SendStart(mine, last, scope, subject, draft.id)


async def suggested_subject(client: AsyncWebClient, *, where: str, text: str) -> str:
    """The subject the send modal suggests, with the names of the people mentioned."""
    mentioned = list(dict.fromkeys(MENTIONED_USER.findall(text)))[:NAMES_LOOKED_UP]
    people = People(client)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(people.get(uid) for uid in mentioned)), NAMES_WAIT)
    return prefill_subject(where, text, Directory(users=people.known()))


async def kind_of_conversation(
    services: Services, client: AsyncWebClient, *, owner: Owner, channel_id: str, name: str | None
) -> str:
    """Public, private, DM or group DM (for the policy): as Slack said within the last
    minutes, else asked now (a reaction asks before its ack, so repeats cost no call)."""
    key = f"{owner.team_id}:{channel_id}"
    known = services.conversation_kinds.get(key)
    if known is not None:
        return known
    info = await channel_info(client, channel_id)
    kind = conversation_kind(channel_id, name, info)
    if info:  # only Slack's own answer is kept, not the payload's guess
        services.conversation_kinds.remember(key, kind)
    return kind


async def channel_info(client: AsyncWebClient, channel_id: str) -> dict[str, Any]:
    """What conversations.info says of the channel (its kind), within the modal's time
    budget; {} when Slack will not say (the payload's hints decide then)."""
    with contextlib.suppress(TimeoutError):
        info = await asyncio.wait_for(Channels(client).info(channel_id), NAMES_WAIT)
        return info or {}
    return {}


def draft_payload(shortcut: dict[str, Any], *, prefill: str, kind: str) -> str:
    channel = shortcut.get("channel") or {}
    message = shortcut.get("message") or {}
    return json.dumps(
        {
            "channel_id": channel.get("id", ""),
            "channel_name": channel.get("name"),
            "conversation_kind": kind,
            "message": message,
            "prefill": prefill,
        }
    )


async def accept_send(services: Services, *, owner: Owner, choice: SendChoice) -> Delivery | None:
    """Queue the send; None when this exact submit was already queued (a Slack retry)."""
    async with transaction(services.database) as db:

        async def checked_send() -> Delivery:
            try:
                draft = await drafts.get_draft(db=db, owner=owner, draft_id=choice.draft_id)
            except NotFound:
                raise StaleForm from None
            try:
                destination = await destinations.get_destination(
                    db=db, owner=owner, destination_id=choice.destination_id
                )
            except NotFound:
                raise NotYours from None
            request = _request(json.loads(draft.payload_json), choice)
            policy = await policy_in(db, owner)
            check_send(policy, destination, request)
            reply_count = request.message.get("reply_count")
            if choice.scope == "thread" and isinstance(reply_count, int):
                policy.check_thread(reply_count + 1)  # as the payload tells; the worker counts
            await check_limits(services, db, owner, destination)
            return _delivery(destination, request)

        delivery, queued = await deliveries.enqueue_once(
            db=db, owner=owner, dedupe_key=choice.dedupe_key, build=checked_send
        )
    if not queued:
        return None
    services.wake_outbox()
    return delivery


async def check_limits(
    services: Services, db: DbSession, owner: Owner, destination: DestinationPublic
) -> None:
    if destination.last_test_ok is False:
        raise LastTestFailed(destination=destination.name)
    now, limits = services.clock(), services.settings
    counts = await deliveries.count_sends(
        db=db,
        owner=owner,
        hour=now - timedelta(hours=1),
        day=now - timedelta(days=1),
        destination_id=destination.id,
    )
    if counts.in_the_hour >= limits.user_sends_per_hour:
        raise HourlyLimit(sent=counts.in_the_hour)
    if counts.to_destination_in_the_day >= limits.destination_sends_per_day:
        raise DailyLimit(destination=destination.name, sent=counts.to_destination_in_the_day)


def _request(draft: dict[str, Any], choice: SendChoice) -> SendRequest:
    message = draft.get("message") or {}
    return SendRequest(
        channel_id=draft.get("channel_id", ""),
        channel_name=draft.get("channel_name"),
        message_ts=str(message.get("ts", "")),
        thread_ts=thread_parent_ts(message),
        conversation_kind=str(draft.get("conversation_kind") or "public"),
        scope=choice.scope,
        subject=choice.subject,
        note=choice.note,
        message=message,
        subject_is_prefill=choice.subject == draft.get("prefill"),
    )


def _delivery(destination: DestinationPublic, request: SendRequest) -> Delivery:
    where = conversation_label(request.channel_id, request.channel_name)
    return new_delivery(
        destination,
        kind=DeliveryKind.SESSION,
        request_json=request.dump(),
        summary=send_summary(request.scope, where),
    )


async def resend_only_message(services: Services, *, owner: Owner, delivery_id: str) -> Delivery:
    """After a not-in-channel failure: the shortcut's own message, no history needed.

    Once per failed delivery: a retried or repeated click returns the first resend.
    """
    async with transaction(services.database) as db:
        failed = await deliveries.get_delivery(db=db, owner=owner, delivery_id=delivery_id)

        async def only_message() -> Delivery:
            destination = await destinations.get_destination(
                db=db, owner=owner, destination_id=failed.destination_id
            )
            request = SendRequest.load(failed.request_json)
            only = SendRequest(**{**vars(request), "scope": "message"})
            return new_delivery(
                destination,
                kind=DeliveryKind.SESSION,
                request_json=only.dump(),
                summary=only_message_summary(failed.summary),
            )

        delivery, queued = await deliveries.enqueue_once(
            db=db, owner=owner, dedupe_key=f"only-message:{failed.id}", build=only_message
        )
    if queued:
        services.wake_outbox()
    return delivery


async def start_change(
    services: Services, *, owner: Owner, client: AsyncWebClient, delivery_id: str
) -> SendStart:
    """A reaction's send, reopened in the send modal: the message it named, with the
    destination it used preselected (``NotYours`` for anyone else's delivery)."""
    async with transaction(services.database) as db:
        try:
            delivery = await deliveries.get_delivery(db=db, owner=owner, delivery_id=delivery_id)
        except NotFound:
            raise NotYours from None
    request = SendRequest.load(delivery.request_json)
    message = await _named_message(client, request)
    shortcut = {"channel": {"id": request.channel_id}, "message": message}
    start = await start_send(services, owner=owner, client=client, shortcut=shortcut)
    return replace(start, last_used_id=delivery.destination_id)


async def _named_message(client: AsyncWebClient, request: SendRequest) -> dict[str, Any]:
    """The message itself, read within the modal's time budget; else its ts alone (the
    thread is then read at send time)."""
    with contextlib.suppress(TimeoutError, XenoceptError):
        found = await asyncio.wait_for(
            read_named_message(client, request.channel_id, request.message_ts), NAMES_WAIT
        )
        named = next((m for m in found if str(m.get("ts")) == request.message_ts), None)
        if named is not None:
            return named
    return {"ts": request.message_ts, "thread_ts": request.message_ts}
