"""``POST /xenocept/v1/sessions``: the one URL ``xenocept share`` needs.

``Authorization: Bearer xsk_…`` and a multipart body: the session folder's files by their
plain names (``session.json``, ``screenshot.png``, ``focus-N.png``, optionally
``screenshot-clean.png``) or one ``.zip`` of the folder, and the field ``to`` (a channel,
or empty / ``@me`` for the sharer's DM with the app).

Answers are JSON: 202 ``{"ok": true, "permalink", "channel", "session_id", "again": false}``
once posted (200 and ``"again": true`` when that session was posted there before), else
``{"ok": false, "error": one sentence}`` with 401, 403, 413, 415, 422, 429, 502 or 503.
The key, the sharer, the policy and the hourly limit are checked before the body is
read; the key is never logged.
"""

from __future__ import annotations

import logging

from aiohttp import BodyPartReader, ClientPayloadError, web

from bot.advice import for_share, share_outage
from bot.errors import ShareMalformed, ShareRateLimited, ShareRefusal, ShareTooBig, SlackDataError
from bot.render.session import MAX_SESSION_JSON, SESSION_JSON
from bot.services import Services
from bot.share_keys import bearer_key
from bot.share_service import SessionUpload, admit, share_session
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

SESSIONS_PATH = "/xenocept/v1/sessions"
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # a session's PNGs; the zip reader's own cap is 60 MB
MAX_PARTS = 200  # a folder's files: far more Notes than one screenshot holds
TO_FIELD = "to"


def share_routes(services: Services) -> list[web.RouteDef]:
    async def upload(request: web.Request) -> web.Response:
        return await _upload(services, request)

    return [web.post(SESSIONS_PATH, upload)]


async def _upload(services: Services, request: web.Request) -> web.Response:
    try:
        holder = await admit(services, bearer_key(request.headers.get("Authorization")))
        if not request.content_type.startswith("multipart/"):
            return _error(415, for_share(ShareMalformed("send it as multipart/form-data")))
        upload = await _read(request)
        result = await share_session(services, key=holder, upload=upload)
    except ShareRefusal as refusal:
        headers = (
            {"Retry-After": str(refusal.retry_after)}
            if isinstance(refusal, ShareRateLimited)
            else None
        )
        return _error(refusal.status, for_share(refusal), headers)
    except SlackDataError as error:
        log.warning("a share did not reach Slack: %s", error)
        return _error(502, share_outage("slack", error.error), {"Retry-After": "30"})
    except StorageUnavailable as error:
        log.warning("a share could not be recorded: %s", error.reason)
        return _error(503, share_outage("database", error.reason), {"Retry-After": "30"})
    body = {
        "ok": True,
        "permalink": result.permalink,
        "channel": result.channel_id,
        "session_id": result.session_id,
        "again": result.again,
    }
    return web.json_response(body, status=200 if result.again else 202)


def _error(status: int, sentence: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": sentence}, status=status, headers=headers)


async def _read(request: web.Request) -> SessionUpload:
    try:
        return await _read_parts(request)
    except (ValueError, AssertionError, ClientPayloadError) as error:  # not multipart as sent
        reason = f"the upload is not readable multipart ({type(error).__name__})"
        raise ShareMalformed(reason) from None


async def _read_parts(request: web.Request) -> SessionUpload:
    """The parts, streamed under the caps: nothing beyond them is read into memory."""
    files: dict[str, bytes] = {}
    zips: list[bytes] = []
    to = ""
    budget = MAX_UPLOAD_BYTES
    reader = await request.multipart()
    for _ in range(MAX_PARTS + 1):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise ShareMalformed("a part of the upload is itself multipart")
        content = await _read_part(part, budget)
        budget -= len(content)
        if part.filename is None:
            if part.name == TO_FIELD:
                to = content.decode("utf-8", "replace").strip()
            continue
        name = part.filename
        if name in files:
            raise ShareMalformed(f"{name[:80]!r} was sent twice")
        if name == SESSION_JSON and len(content) > MAX_SESSION_JSON:
            raise ShareTooBig(limit=MAX_SESSION_JSON, what=SESSION_JSON)
        if name.lower().endswith(".zip"):
            zips.append(content)
        else:
            files[name] = content
    else:
        raise ShareMalformed(f"the upload has more than {MAX_PARTS} parts")
    if len(zips) > 1 or (zips and files):
        raise ShareMalformed("send one session: its folder's files, or one zip of it")
    if not zips and not files:
        raise ShareMalformed("the upload holds no files")
    return SessionUpload(files=files, zip_content=zips[0] if zips else None, to=to)


async def _read_part(part: BodyPartReader, budget: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > budget:
            raise ShareTooBig(limit=MAX_UPLOAD_BYTES)
        chunks.append(chunk)
    return b"".join(chunks)
