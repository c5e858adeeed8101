"""Read a Slack thread (or the shortcut's one message) into the renderer's Conversation.

Calls per delivery: ``conversations.replies`` in pages of 200 (429s are retried by the
client's ``AsyncRateLimitErrorRetryHandler``, see ``bot.app.slack_client``), one
``users.info`` per distinct person (the ``People`` cache), one ``conversations.info``
per distinct channel that needs a name, and a single ``chat.getPermalink`` from which
every other message's link is derived.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConversationUnreadable, SlackDataError
from bot.render.model import ChatMessage, Conversation, Directory, FileItem, LegacyAttachment
from bot.render.mrkdwn import unescape
from bot.render.request import SendRequest, conversation_label
from bot.slackdata import files
from bot.slackdata.clean import without_lone_surrogates
from bot.slackdata.users import People, Person

Json = dict[str, Any]

REPLIES_PAGE = 200
LOOKUPS_AT_ONCE = 8
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=15, sock_read=30)
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
CHANNEL_MENTION = re.compile(r"<#([CGD][A-Z0-9]+)(\|[^<>]*)?>")
USERGROUP_MENTION = re.compile(r"<!subteam\^([A-Z0-9]+)\|([^<>]*)>")


async def fetch_conversation(
    *,
    client: AsyncWebClient,
    request: SendRequest,
    viewer: Person,
    people: People,
    file_host: str,
    size_budget: int,
    http: aiohttp.ClientSession | None = None,
) -> Conversation:
    """The conversation ``request`` points at, names resolved and files downloaded."""
    if http is None:
        async with aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as own:
            return await fetch_conversation(
                client=client,
                request=request,
                viewer=viewer,
                people=people,
                file_host=file_host,
                size_budget=size_budget,
                http=own,
            )
    raw = without_lone_surrogates(await read_messages(client, request))
    channels = Channels(client)
    await look_up(people, people_needed(raw))
    links = await permalinks(client, request.channel_id, raw[0])
    downloader = Downloader(http=http, token=client.token or "", host=file_host, budget=size_budget)
    zone = viewer_zone(viewer.time_zone)
    messages = [await _message(m, people, zone, links, downloader) for m in raw]
    return Conversation(
        title=await conversation_title(request, raw, viewer, people, channels),
        permalink=links.anchor,
        messages=tuple(messages),
        directory=await directory(raw, people, channels),
        time_zone=zone.key,
        notices=downloader.notices(),
    )


# ---------------------------------------------------------------- messages


async def read_messages(client: AsyncWebClient, request: SendRequest) -> list[Json]:
    """The thread, parent first; or just the shortcut's message (no history access)."""
    message = dict(request.message or {})
    if message and not message.get("ts"):
        message["ts"] = request.message_ts
    if request.scope_follows_message:
        return await read_named_message(client, request.channel_id, request.message_ts, message)
    if request.scope == "message" or (not request.in_thread and message):
        if not message:
            raise SlackDataError(error="message_missing", method="message_action")
        return [message]
    return await read_thread(client, request.channel_id, request.thread_ts or request.message_ts)


async def read_thread(client: AsyncWebClient, channel_id: str, thread_ts: str) -> list[Json]:
    """Every message of the thread over all pages, de-duplicated by ts, parent first."""
    seen: dict[str, Json] = {}
    try:
        pages = await client.conversations_replies(
            channel=channel_id, ts=thread_ts, limit=REPLIES_PAGE
        )
        async for page in pages:
            for message in page.get("messages") or []:
                seen.setdefault(str(message.get("ts", "")), message)
    except SlackApiError as error:
        code = str(error.response.get("error") or "unknown_error")
        raise ConversationUnreadable.of(channel_id, error=code) from None
    except (aiohttp.ClientError, TimeoutError):
        raise ConversationUnreadable.of(channel_id, error="slack_unreachable") from None
    if not seen:
        raise ConversationUnreadable.of(channel_id, error="thread_not_found")
    parent = seen.pop(thread_ts, None)
    return ([parent] if parent else []) + list(seen.values())


async def read_named_message(
    client: AsyncWebClient, channel_id: str, ts: str, known: Json | None = None
) -> list[Json]:
    """The message at ``ts`` with its whole thread when it has replies, else alone.

    ``known`` (the message as an event carried it) stands in when it has no replies to
    read: a channel message just posted is forwarded as it was posted."""
    thread = await read_thread(client, channel_id, ts)
    target = next((m for m in thread if str(m.get("ts", "")) == ts), None)
    if target is None:
        if known:
            return [known]
        raise ConversationUnreadable.of(channel_id, error="message_not_found")
    if target.get("reply_count") and str(target.get("thread_ts") or ts) == ts:
        return thread  # a parent: read_thread put it first
    return [target]


def is_bot_message(message: Json) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def bot_label(message: Json) -> str | None:
    profile = message.get("bot_profile")
    name = profile.get("name") if isinstance(profile, dict) else None
    return str(name or message.get("username") or "") or None


async def author_of(message: Json, people: People) -> tuple[str, bool]:
    """(display name, is a bot) of a message's author."""
    bot = is_bot_message(message)
    label = bot_label(message) if bot else None
    if label:
        return label, True
    user = message.get("user")
    if user:
        person = await people.get(str(user))
        return person.name, bot or person.is_bot
    return str(message.get("username") or ("a bot" if bot else "someone")), bot


def posted_at(ts: str, zone: ZoneInfo) -> datetime:
    """A Slack ts ("1700000000.000100") as an aware datetime in ``zone``, exact to the µs."""
    seconds, _, fraction = ts.partition(".")
    try:
        utc = datetime.fromtimestamp(int(seconds), UTC)
        micros = int((fraction + "000000")[:6])
    except (ValueError, OverflowError):
        return datetime.fromtimestamp(0, zone)
    return utc.replace(microsecond=micros).astimezone(zone)


def viewer_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def legacy_attachments(message: Json) -> tuple[LegacyAttachment, ...]:
    return tuple(
        LegacyAttachment(
            title=str(a.get("title") or ""),
            title_link=a.get("title_link") or None,
            text=str(a.get("text") or a.get("pretext") or ""),
            fallback=str(a.get("fallback") or ""),
        )
        for a in _dicts(message.get("attachments"))
    )


async def _message(
    message: Json, people: People, zone: ZoneInfo, links: Permalinks, downloader: Downloader
) -> ChatMessage:
    author, is_bot = await author_of(message, people)
    ts = str(message.get("ts", ""))
    return ChatMessage(
        ts=ts,
        author=author,
        author_is_bot=is_bot,
        posted_at=posted_at(ts, zone),
        text=str(message.get("text") or ""),
        permalink=links.for_message(message),
        files=tuple([await downloader.item(f) for f in _dicts(message.get("files"))]),
        attachments=legacy_attachments(message),
    )


def _dicts(value: object) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------- names


class Channels:
    """conversations.info, once per channel; None when Slack will not say."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._cache: dict[str, Json | None] = {}

    async def info(self, channel_id: str) -> Json | None:
        if channel_id not in self._cache:
            try:
                response = await self._client.conversations_info(channel=channel_id)
                self._cache[channel_id] = dict(response["channel"])
            except SlackApiError:
                self._cache[channel_id] = None
        return self._cache[channel_id]


def texts_of(message: Json) -> Iterable[str]:
    yield str(message.get("text") or "")
    for attachment in _dicts(message.get("attachments")):
        for key in ("pretext", "title", "text", "fallback"):
            yield str(attachment.get(key) or "")


def people_needed(raw: Sequence[Json]) -> list[str]:
    """Authors (bots with a name of their own need none) and mentioned users, in order."""
    wanted: list[str] = []
    for message in raw:
        if message.get("user") and not (is_bot_message(message) and bot_label(message)):
            wanted.append(str(message["user"]))
        for text in texts_of(message):
            wanted.extend(USER_MENTION.findall(text))
    return list(dict.fromkeys(wanted))


async def look_up(people: People, user_ids: Sequence[str]) -> None:
    """Fill the People cache, a few lookups at a time (one call per distinct user)."""
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(user_id: str) -> None:
        async with gate:
            await people.get(user_id)

    await asyncio.gather(*(one(user_id) for user_id in user_ids))


async def directory(raw: Sequence[Json], people: People, channels: Channels) -> Directory:
    text = "\n".join(t for message in raw for t in texts_of(message))
    users = {uid: name for uid, name in people.known().items() if name != uid}
    groups = {gid: unescape(label).lstrip("@") for gid, label in USERGROUP_MENTION.findall(text)}
    return Directory(
        users=users,
        channels=await channel_names(text, channels),
        usergroups={gid: label for gid, label in groups.items() if label},
    )


async def channel_names(text: str, channels: Channels) -> dict[str, str]:
    """Names for <#C…> mentions that came without a label; unknown ones keep their id."""
    names: dict[str, str] = {}
    unlabeled = dict.fromkeys(cid for cid, label in CHANNEL_MENTION.findall(text) if not label)
    for channel_id in unlabeled:
        info = await channels.info(channel_id)
        if info and info.get("name"):
            names[channel_id] = str(info["name"])
    return names


async def conversation_title(
    request: SendRequest, raw: Sequence[Json], viewer: Person, people: People, channels: Channels
) -> str:
    """ "#name", "a direct message with Bob", "a group DM" or "a private channel"."""
    channel_id = request.channel_id
    label = conversation_label(channel_id, request.channel_name)
    if channel_id.startswith("D"):
        return await dm_title(channel_id, raw, viewer, people, channels)
    if label.startswith("#"):
        return label
    info = await channels.info(channel_id) or {}
    if info.get("is_im"):
        return await dm_title(channel_id, raw, viewer, people, channels)
    if info.get("is_mpim"):
        return "a group DM"
    if info.get("name") and label != "a group DM":
        return f"#{info['name']}"
    return label


async def dm_title(
    channel_id: str, raw: Sequence[Json], viewer: Person, people: People, channels: Channels
) -> str:
    partner = next(
        (
            str(m["user"])
            for m in raw
            if m.get("user") and not is_bot_message(m) and m["user"] != viewer.user_id
        ),
        None,
    )
    if partner is None:
        partner = str((await channels.info(channel_id) or {}).get("user") or "") or None
    if partner is None or partner == viewer.user_id:
        return "a direct message"
    return f"a direct message with {(await people.get(partner)).name}"


# ---------------------------------------------------------------- permalinks


@dataclass(frozen=True)
class Permalinks:
    """The anchor's real permalink; every other message's link derived from it."""

    channel_id: str
    anchor_ts: str
    anchor: str | None

    def for_message(self, message: Json) -> str | None:
        ts = str(message.get("ts", ""))
        if self.anchor is None or ts == self.anchor_ts:
            return self.anchor
        base, _, last = self.anchor.partition("?")[0].rpartition("/")
        if not base or not last.startswith("p") or not ts:
            return None
        link = f"{base}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={self.channel_id}"
        return link


async def permalinks(client: AsyncWebClient, channel_id: str, anchor: Json) -> Permalinks:
    """One chat.getPermalink for the parent (or the single message); None if refused."""
    ts = str(anchor.get("ts", ""))
    try:
        response = await client.chat_getPermalink(channel=channel_id, message_ts=ts)
        link = response.get("permalink")
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        link = None
    return Permalinks(channel_id=channel_id, anchor_ts=ts, anchor=str(link) if link else None)


# ---------------------------------------------------------------- files


@dataclass
class Downloader:
    """Downloads files in order while the bytes fit ``budget``; the renderer links the rest."""

    http: aiohttp.ClientSession
    token: str
    host: str
    budget: int
    failed: list[str] = field(default_factory=list)

    async def item(self, file: Json) -> FileItem:
        size = _int(file.get("size"))
        name = str(file.get("name") or file.get("title") or f"file {file.get('id', '')}")
        fits = self.budget > 0 and size <= self.budget
        content = await self._content(file, name) if fits else None
        self.budget -= len(content or b"")
        return FileItem(
            file_id=str(file.get("id") or ""),
            name=name,
            mimetype=str(file.get("mimetype") or "application/octet-stream"),
            size=size or len(content or b""),
            permalink=str(file.get("permalink") or ""),
            content=content,
        )

    async def _content(self, file: Json, name: str) -> bytes | None:
        url = file.get("url_private_download") or file.get("url_private")
        if not url or not self.token or file.get("is_external"):
            return None
        content = await files.download(
            url=str(url),
            token=self.token,
            allowed_host=self.host,
            max_bytes=self.budget,
            session=self.http,
            allow_html=str(file.get("mimetype", "")) == "text/html",
        )
        if content is None:
            self.failed.append(name)
        return content

    def notices(self) -> tuple[str, ...]:
        if not self.failed:
            return ()
        count = len(self.failed)
        what = "1 file could" if count == 1 else f"{count} files could"
        return (
            f"{what} not be downloaded from Slack and {'is' if count == 1 else 'are'} "
            f"linked, not attached: {', '.join(self.failed[:10])}"
            + (" and more." if count > 10 else "."),
        )


def _int(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0
