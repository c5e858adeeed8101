"""Sessions into Slack: share keys (``/xenocept connect``, ``/xenocept keys``), uploads
from ``xenocept share`` (``POST /xenocept/v1/sessions``), and the post's Email me button.

An upload is checked in this order, each refusal one ``ShareRefusal``: before its body
is read, the key (its owner is who shares), the owner still in Slack, the workspace's
policy and the key's hourly limit; then the session as the renderer reads it, and the
conversation. The same session is posted to one conversation once: a repeated upload
answers with the first post.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot import audit_service
from bot.errors import (
    FollowRefusal,
    NotAMember,
    ShareChannelRefused,
    ShareKeyRefused,
    ShareMalformed,
    ShareRateLimited,
    SharingOff,
    TooManyShareKeys,
)
from bot.policy_service import policy_in
from bot.reaction_service import ReactionOutcome, queue_to_default
from bot.render.model import Session
from bot.render.session import (
    CLEAN_SCREENSHOT,
    PNG_SIGNATURE,
    SESSION_JSON,
    SessionFormatError,
    is_plain_name,
    parse_session,
    read_zip_session,
)
from bot.services import Services
from bot.share_keys import PresentedKey, new_share_key, secret_matches
from bot.slackdata.channels import find_channel, is_member
from bot.slackdata.uploads import (
    FILES_PER_MESSAGE,
    Posted,
    Upload,
    direct_message_channel,
    post_files,
)
from bot.slackdata.users import has_left
from bot.views.messages import shared_session_post
from storage import share
from storage.db import transaction
from storage.errors import Conflict, NotFound
from storage.models import Owner, ShareKeyPublic

MAX_KEYS = 20  # per user: /xenocept keys lists them all in one message
SHARES_PER_HOUR = 60  # per key
WINDOW = timedelta(hours=1)
LABEL_MAX = 60
STALE_CLAIM = timedelta(minutes=2)  # a post that never finished (the bot stopped mid-way)
DIRECT_MESSAGE = frozenset({"", "@me", "me", "dm"})


# ------------------------------------------------------------------ keys


@dataclass(frozen=True)
class MadeKey:
    key: ShareKeyPublic
    text: str  # shown once, in the ephemeral answer; never stored or logged


async def connect_key(services: Services, *, owner: Owner, label: str) -> MadeKey:
    """A new share key for ``owner``; ``SharingOff`` or ``TooManyShareKeys`` otherwise."""
    label = " ".join(label.split())[:LABEL_MAX]  # one line: CR/LF and runs of spaces go
    made = new_share_key()
    now = services.clock()
    async with transaction(services.database) as db:
        if not (await policy_in(db, owner)).allow_sharing:
            raise SharingOff
        if await share.count_keys(db=db, owner=owner) >= MAX_KEYS:
            raise TooManyShareKeys(limit=MAX_KEYS)
        key = await share.create_key(
            db=db,
            owner=owner,
            key_id=made.key_id,
            label=label,
            salt=made.salt,
            secret_hash=made.secret_hash,
            at=now,
        )
        await audit_service.record(db, owner, "share key created", now, key=key.id, label=label)
    return MadeKey(key=key, text=made.text)


async def share_keys_of(services: Services, *, owner: Owner) -> Sequence[ShareKeyPublic]:
    async with transaction(services.database) as db:
        return await share.list_keys(db=db, owner=owner)


async def revoke_share_key(
    services: Services, *, owner: Owner, key_id: str
) -> ShareKeyPublic | None:
    """Revoke the owner's key at once; None when it is not theirs or already gone."""
    now = services.clock()
    async with transaction(services.database) as db:
        try:
            key = await share.revoke_key(db=db, owner=owner, key_id=key_id)
        except NotFound:
            return None
        await audit_service.record(db, owner, "share key revoked", now, key=key.id)
    return key


async def revoke_keys_of_departed(services: Services, *, owner: Owner) -> int:
    """The user's Slack account was deactivated: none of their keys posts again."""
    async with transaction(services.database) as db:
        revoked = await share.revoke_all_keys(db=db, owner=owner)
        if revoked:
            await audit_service.record(
                db, owner, "share keys revoked", services.clock(), keys=revoked
            )
    return revoked


# ------------------------------------------------------------------ uploads


@dataclass(frozen=True)
class SessionUpload:
    """What a desktop sent: loose files by plain name, or one zip, and where to post."""

    files: Mapping[str, bytes]
    zip_content: bytes | None
    to: str


@dataclass(frozen=True)
class ShareResult:
    session_id: str
    channel_id: str
    permalink: str | None
    again: bool  # posted earlier: this upload posted nothing new


async def share_session(
    services: Services, *, key: KeyHolder, upload: SessionUpload
) -> ShareResult:
    """Post ``upload`` as ``key``'s owner (``admit`` first, before reading it)."""
    owner, client = key.owner, key.client
    bundle = _bundle(upload)
    session = _session(bundle)
    channel_id = await _conversation(client, owner, upload.to)
    earlier, claim_id = await _claim(services, owner, key.key_id, channel_id, session.session_id)
    if earlier is not None:
        return earlier
    try:
        message = shared_session_post(session, sharer=owner.user_id)
        posted = await post_files(
            client,
            channel_id=channel_id,
            uploads=session_uploads(session, bundle),
            blocks=message.blocks,
        )
    except BaseException:
        async with transaction(services.database) as db:
            await share.drop_share(db=db, owner=owner, share_id=claim_id)
        raise
    await _finish(services, owner, key.key_id, claim_id, posted)
    return ShareResult(session.session_id, channel_id, posted.permalink, again=False)


@dataclass(frozen=True)
class KeyHolder:
    """Who a live key shares as (its owner, nothing of its secret), and their Slack."""

    key_id: str
    owner: Owner
    client: AsyncWebClient = field(repr=False)


async def admit(services: Services, presented: PresentedKey | None) -> KeyHolder:
    """Whether an upload may be read at all, before its body is: a live key
    (``ShareKeyRefused``) of someone still in Slack, sharing allowed (``SharingOff``),
    and room in the key's hour (``ShareRateLimited``)."""
    if presented is None:
        raise ShareKeyRefused
    async with transaction(services.database) as db:
        key = await share.key_for_upload(db=db, key_id=presented.key_id)
    if key is None or not secret_matches(presented, salt=key.salt, secret_hash=key.secret_hash):
        raise ShareKeyRefused
    owner = key.owner
    client = await services.slack_for(owner)
    if await has_left(client, owner.user_id):
        await revoke_keys_of_departed(services, owner=owner)
        raise ShareKeyRefused
    now = services.clock()
    async with transaction(services.database) as db:
        if not (await policy_in(db, owner)).allow_sharing:
            raise SharingOff
        used = await share.shares_since(
            db=db, owner=owner, key_id=key.id, since=now - WINDOW, limit=SHARES_PER_HOUR
        )
    if len(used) >= SHARES_PER_HOUR:
        room_at = used[0] + WINDOW
        wait = max(1, math.ceil((room_at - now).total_seconds()))
        raise ShareRateLimited(limit=SHARES_PER_HOUR, retry_after=wait)
    return KeyHolder(key_id=key.id, owner=owner, client=client)


def _bundle(upload: SessionUpload) -> Mapping[str, bytes]:
    try:
        if upload.zip_content is not None:
            found = read_zip_session(upload.zip_content)
            if found is None:
                raise ShareMalformed("the zip holds no session.json")
            return found
    except SessionFormatError as error:
        raise ShareMalformed(error.reason) from None
    bad = next((name for name in upload.files if not is_plain_name(name)), None)
    if bad is not None:
        raise ShareMalformed(f"{bad[:80]!r} is not a plain file name")
    return upload.files


def _session(bundle: Mapping[str, bytes]) -> Session:
    try:
        session = parse_session(bundle)
    except SessionFormatError as error:
        raise ShareMalformed(error.reason) from None
    missing = [
        name
        for name in (session.screenshot, *(n.focus_image for n in session.notes if n.focus_image))
        if name not in session.images
    ]
    if missing:
        raise ShareMalformed(f"session.json names {missing[0]}, which was not sent")
    clean = bundle.get(CLEAN_SCREENSHOT)
    if clean is not None and not clean.startswith(PNG_SIGNATURE):
        raise ShareMalformed(f"{CLEAN_SCREENSHOT} is not a PNG image")
    return session


async def _conversation(client: AsyncWebClient, owner: Owner, to: str) -> str:
    """Where to post: the channel named (one the app and the owner are both in), or the
    owner's DM with the app."""
    if to.strip().lower() in DIRECT_MESSAGE:
        return await direct_message_channel(client, owner.user_id)
    try:
        channel = await find_channel(client, to)
        channel_id = str(channel["id"])
        if not await is_member(client, channel_id, owner.user_id):
            raise NotAMember(f"#{channel.get('name') or channel_id}")
    except FollowRefusal as refusal:
        raise ShareChannelRefused(refusal) from None
    return channel_id


async def _claim(
    services: Services, owner: Owner, key_id: str, channel_id: str, session_id: str
) -> tuple[ShareResult | None, str]:
    """(the earlier post, "") when the session was posted there before; else (None, the
    claim's id). A claim left by a bot stopped mid-post is taken over once it is stale."""
    now = services.clock()
    try:
        async with transaction(services.database) as db:
            found = await share.find_shared(
                db=db, owner=owner, channel_id=channel_id, session_id=session_id
            )
            posted = found is not None and found.message_ts is not None
            if found is not None and (posted or found.created_at > now - STALE_CLAIM):
                earlier = ShareResult(session_id, channel_id, found.permalink, again=True)
                return earlier, ""
            if found is not None:
                await share.drop_share(db=db, owner=owner, share_id=found.id)
            claimed = await share.claim_share(
                db=db,
                owner=owner,
                key_id=key_id,
                channel_id=channel_id,
                session_id=session_id,
                at=now,
            )
    except Conflict:  # the same upload, at the same moment, on another instance
        return ShareResult(session_id, channel_id, None, again=True), ""
    return None, claimed.id


async def _finish(
    services: Services,
    owner: Owner,
    key_id: str,
    claim_id: str,
    posted: Posted,
) -> None:
    now = services.clock()
    async with transaction(services.database) as db:
        await share.finish_share(
            db=db,
            owner=owner,
            share_id=claim_id,
            message_ts=posted.ts or "",  # "": posted, though Slack had not said where yet
            permalink=posted.permalink,
        )
        await share.mark_key_used(db=db, owner=owner, key_id=key_id, at=now)
        await audit_service.record(
            db, owner, "session shared", now, key=key_id, conversation=posted.channel_id
        )


def session_uploads(session: Session, bundle: Mapping[str, bytes]) -> list[Upload]:
    """The files of the post, screenshot first. Loose (session.json, screenshot, each
    Note's image) when they fit on one message; else the screenshot and the whole
    session as one zip, which forwarding reads the same way."""
    notes = {n.focus_image: n for n in session.notes if n.focus_image}
    loose = [Upload(session.screenshot, "Screenshot", session.images[session.screenshot])]
    for name, note in notes.items():
        loose.append(Upload(name, _note_title(note.index, note.text), session.images[name]))
    if CLEAN_SCREENSHOT in bundle:
        loose.append(
            Upload(CLEAN_SCREENSHOT, "Screenshot without markup", bundle[CLEAN_SCREENSHOT])
        )
    loose.append(Upload(SESSION_JSON, "session.json", bundle[SESSION_JSON]))
    if len(loose) <= FILES_PER_MESSAGE:
        return loose
    return [
        loose[0],
        Upload(f"{session.session_id}.zip", "Xenocept session", _zipped(session, bundle)),
    ]


def _note_title(index: int, text: str) -> str:
    first = " ".join(text.split())
    return f"Note {index + 1}: {first[:80]}" if first else f"Note {index + 1}"


def _zipped(session: Session, bundle: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in bundle.items():
            archive.writestr(f"{session.session_id}/{name}", content)
    return buffer.getvalue()


# ------------------------------------------------------------------ Email me


async def email_shared(
    services: Services,
    *,
    owner: Owner,
    client: AsyncWebClient,
    channel_id: str,
    message_ts: str,
    click_key: str | None,
) -> ReactionOutcome:
    """The post's Email me: the clicker's default destination, as one reaction would."""
    return await queue_to_default(
        services,
        owner=owner,
        client=client,
        channel_id=channel_id,
        message_ts=message_ts,
        source=f"share:{channel_id}:{message_ts}",
        dedupe_key=click_key,
        tell_each_time=True,
    )
