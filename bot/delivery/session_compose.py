"""Compose the email for a forwarded message, thread or Xenocept session: read the
conversation the row's ``SendRequest`` names from Slack, then render it."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

import aiohttp

from bot.delivery.compose import ICLOUD_SIZE_LIMIT, Composed
from bot.errors import ConversationUnreadable
from bot.render import default_subject, render_email
from bot.render.model import ChatMessage, Conversation, Directory, RenderedEmail
from bot.render.request import SendRequest, conversation_label
from bot.services import Services
from bot.slackdata import files
from bot.slackdata.fetch import DOWNLOAD_TIMEOUT, fetch_conversation
from bot.slackdata.users import People, PeopleCache
from storage.models import Delivery, DestinationPublic

# Bytes of files to download: what fits the size limit once base64 (4/3) is applied.
DOWNLOAD_BUDGET = ICLOUD_SIZE_LIMIT * 3 // 4
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9.-]")


class SlackSessionComposer:
    """Fetches the conversation from Slack and renders it.

    Deliveries that go out back to back (``expect``) are read one ahead: while one session
    renders and travels over SMTP, the next one's thread is already being read from Slack.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        # users.info answers shared by the deliveries, per workspace (each has its token)
        self._people: dict[tuple[str, str], PeopleCache] = {}
        self._following: dict[str, Delivery] = {}
        self._ahead: dict[str, asyncio.Task[Conversation]] = {}

    def expect(self, deliveries: Sequence[Delivery]) -> None:
        for current, following in pairwise(deliveries):
            self._following[current.id] = following

    def forget(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self._following.pop(delivery.id, None)
            task = self._ahead.pop(delivery.id, None)
            if task is not None:
                task.cancel()

    async def compose(
        self,
        delivery: Delivery,
        destination: DestinationPublic,
        *,
        size_limit: int = ICLOUD_SIZE_LIMIT,
    ) -> Composed:
        request = SendRequest.load(delivery.request_json)
        following = self._following.pop(delivery.id, None)
        if following is not None and following.id not in self._ahead:
            self._ahead[following.id] = task = asyncio.create_task(
                self.read(following, SendRequest.load(following.request_json)),
                name=f"xenocept-read-ahead-{following.id}",
            )
            # A read-ahead nobody awaits (its delivery gone) must not log "never retrieved".
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        ahead = self._ahead.pop(delivery.id, None)
        conversation = await (ahead if ahead is not None else self.read(delivery, request))
        thread_ts = request.thread_ts or request.message_ts
        rendered = render_email(
            conversation=conversation,
            note=request.note,
            subject=request.subject_for(conversation),
            sender=destination.from_address,
            recipients=destination.recipients,
            message_id=delivery.message_id,
            references=[thread_reference(delivery.team_id, request.channel_id, thread_ts)],
            sent_at=self._services.clock(),
            screenshot_mode=destination.screenshot_mode,
            size_limit=size_limit,
        )
        return Composed(
            message=rendered.message,
            data=rendered.data,
            summary=summary(conversation, rendered),
            messages=len(conversation.messages),
        )

    async def read(self, delivery: Delivery, request: SendRequest) -> Conversation:
        """The conversation a request names; a digest's items gathered into one."""
        if not request.digest:
            return await self.fetch(delivery, request)
        parts = []
        for message in request.digest:
            item = request.for_item(message)
            try:
                parts.append(await self.fetch(delivery, item))
            except ConversationUnreadable:  # its replies cannot be read: as it was posted
                alone = replace(item, scope="message", scope_follows_message=False)
                parts.append(await self.fetch(delivery, alone))
        return gathered(parts, title=digest_title(request))

    async def fetch(self, delivery: Delivery, request: SendRequest) -> Conversation:
        """The conversation, names resolved in the sending user's time zone."""
        client = await self._services.slack_of(delivery)
        workspace = (delivery.enterprise_id, delivery.team_id)
        shared = self._people.get(workspace) or self._people.setdefault(workspace, PeopleCache())
        people = People(client, shared=shared)
        viewer = await people.get(delivery.user_id)
        async with aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as http:
            return await fetch_conversation(
                client=client,
                request=request,
                viewer=viewer,
                people=people,
                file_host=files.file_host(self._services.settings.slack_api_url),
                size_budget=DOWNLOAD_BUDGET,
                http=http,
            )


def digest_title(request: SendRequest) -> str:
    return f"Daily digest of {conversation_label(request.channel_id, request.channel_name)}"


def gathered(parts: Sequence[Conversation], *, title: str) -> Conversation:
    """Several conversations as one, each headed by its own subject and link."""
    messages: list[ChatMessage] = []
    users: dict[str, str] = {}
    channels: dict[str, str] = {}
    groups: dict[str, str] = {}
    notices: list[str] = []
    for part in parts:
        first, *rest = part.messages
        heading = default_subject(part)
        messages += [dataclasses.replace(first, heading=heading, heading_link=part.permalink)]
        messages += rest
        users |= part.directory.users
        channels |= part.directory.channels
        groups |= part.directory.usergroups
        notices += [n for n in part.notices if n not in notices]
    return Conversation(
        title=title,
        permalink=None,
        messages=tuple(messages),
        directory=Directory(users=users, channels=channels, usergroups=groups),
        time_zone=parts[0].time_zone if parts else "UTC",
        notices=tuple(notices),
    )


def thread_reference(team_id: str, channel_id: str, thread_ts: str) -> str:
    """A stable Message-ID-like id per thread, so every send of it groups together."""
    parts = (_id_part(channel_id), _id_part(thread_ts), _id_part(team_id))
    return f"<thread.{'.'.join(parts)}@xenocept.invalid>"


def _id_part(text: str) -> str:
    return _UNSAFE_ID_CHARS.sub("-", text).strip(".") or "none"


def summary(conversation: Conversation, rendered: RenderedEmail) -> str:
    """ "12 messages from #incidents", "10 of 12 messages from …" when some were trimmed."""
    total = len(conversation.messages)
    if conversation.sections:
        posts = "1 post" if conversation.sections == 1 else f"{conversation.sections} posts"
        return f"{conversation.title}: {posts}"
    noun = "message" if total == 1 else "messages"
    sent = total - rendered.trimmed_messages
    count = f"{sent} of {total}" if sent != total else str(total)
    return f"{count} {noun} from {conversation.title}"
