"""A local stand-in for the Slack Web API, for tests.

`SlackStandIn` runs an aiohttp server in the test's own event loop (no threads) on
127.0.0.1 with a free port. Point slack_sdk at it with ``base_url=standin.api_url``
(or ``SLACK_API_URL``). It records every Web API call, answers the methods the app
uses like Slack does (shapes after ``/work/shared/reference/slack-payloads/``), serves
private file downloads that need the bot token, and records ``response_url`` posts.

Usage::

    async with SlackStandIn() as slack:
        slack.add_channel("C1", name="general")
        slack.add_thread("C1", [{"type": "message", "user": "U1", "ts": "1.000100", "text": "hi"}])
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        ...
        call = await slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C1")
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import datetime as dt
import json
import mimetypes
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSMsgType, web
from aiohttp.web_request import FileField

__all__ = ["Call", "SlackStandIn"]

JSONDict = dict[str, Any]
_T = TypeVar("_T")

TEAM_ID = "T111"
TEAM_DOMAIN = "example"
WORKSPACE_URL = "https://example.slack.com/"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A111"

# Form fields that slack_sdk (or a hand-written client) sends as JSON text.
# A message shows at most 10 files; Slack refuses more on one share.
FILES_PER_MESSAGE = 10
_JSON_FORM_FIELDS = frozenset({"blocks", "view", "attachments", "metadata"})
_MAX_LIMIT = 1000

_FORBIDDEN_HTML = (
    "<!DOCTYPE html><html><head><title>Slack</title></head>"
    "<body><p>You need to sign in to see this page.</p></body></html>"
)


@dataclass
class Call:
    """One Web API call as received by the stand-in."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _Failure:
    error: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def _ts_from_micros(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"next_offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != "next_offset" or not number.isdigit():
        return None
    return int(number)


def _filetype(name: str, mimetype: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in {"txt", "text"} or mimetype == "text/plain":
        return "text"
    if ext == "jpeg":
        return "jpg"
    if ext:
        return ext
    guessed = mimetypes.guess_extension(mimetype) or ".binary"
    return guessed.lstrip(".")


def _tz_info(tz: str) -> tuple[int, str]:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return 0, tz
    now = dt.datetime.now(zone)
    offset = now.utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds()), now.tzname() or tz


class SlackStandIn:
    """Local Slack Web API stand-in (see module docstring)."""

    bot_token: str = "xoxb-standin-token"
    app_token: str = "xapp-standin-token"

    def __init__(self, *, bot_token: str | None = None, team_id: str = TEAM_ID) -> None:
        if bot_token is not None:
            self.bot_token = bot_token
        self.team_id = team_id
        self.api_url = ""
        self.base_url = ""
        self.calls: list[Call] = []
        self.users: dict[str, JSONDict] = {}
        self.channels: dict[str, JSONDict] = {}
        self.threads: dict[tuple[str, str], list[JSONDict]] = {}
        self.messages: dict[tuple[str, str], JSONDict] = {}
        # conversations.members: a channel's members; a channel not listed has every user.
        self.members: dict[str, list[str]] = {}
        self.views: dict[str, JSONDict] = {}
        self.home_views: dict[str, JSONDict] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.file_downloads: list[tuple[str, str | None]] = []
        # files.uploadV2: bytes uploaded per file id, then each file shared with its channel.
        self.uploads: dict[str, bytes] = {}
        self.shared_files: list[JSONDict] = []
        # files.info: each completed file, and the share Slack makes of it asynchronously
        # (the first files.info after completion does not show it yet, as on Slack).
        self.file_objects: dict[str, JSONDict] = {}
        self._pending_shares: dict[str, tuple[str, str]] = {}
        self._upload_names: dict[str, str] = {}
        # A Slack slow to share: files.info never shows where a file was shared.
        self.shares_hidden = False
        self.response_url_posts: list[tuple[str, JSONDict]] = []
        # Bodies the app answered Slack's HTTP requests with (recorded by the test driver),
        # so that the payload-limits check sees acks as well as Web API calls.
        self.ack_bodies: list[Any] = []
        # The bot token's scopes; None grants everything. conversations.info checks them
        # per conversation type, as Slack does (missing_scope).
        self.scopes: set[str] | None = None
        # Socket Mode: envelopes to push to a connected app, and what it answered.
        self.socket_envelopes: asyncio.Queue[JSONDict] = asyncio.Queue()
        self.socket_replies: list[JSONDict] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._changed = asyncio.Condition()
        self._ts_micros = 1_700_000_000_000_000
        self._view_seq = 0
        self._last_modal_id: str | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        # OAuth installs (oauth.v2.access): the app's credentials, codes waiting to be
        # exchanged, and the workspace each issued bot token belongs to.
        self.client_id = "111.222"
        self.client_secret = "standin-client-secret"
        self.oauth_codes: dict[str, JSONDict] = {}
        self.workspaces: dict[str, JSONDict] = {}
        self._token = ""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/files-pri/{tail:.*}", self._handle_file)
        app.router.add_post("/response_url/{key}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/socket-mode", self._handle_socket_mode)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        # A restart (an outage ending) comes back on the same port, where the app looks.
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._port = port
        self.base_url = f"http://{host}:{port}"
        self.api_url = f"{self.base_url}/api/"

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SlackStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ recording

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda c: True,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the test-helper API
    ) -> Call:
        """First call (past or future) to `method` matching `predicate`."""

        def match() -> Call | None:
            for c in self.calls:
                if c.method == method and predicate(c):
                    return c
            return None

        def describe() -> str:
            seen = [c.method for c in self.calls]
            return f"no matching call to {method} within {timeout}s; calls so far: {seen}"

        return await self._wait(match, timeout, describe)

    def response_url(self, key: str = "1") -> str:
        return f"{self.base_url}/response_url/{key}"

    async def wait_for_response_url(
        self,
        predicate: Callable[[JSONDict], bool] = lambda body: True,
        *,
        key: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> tuple[str, JSONDict]:
        """First POST (past or future) to a response_url whose JSON body matches."""

        def match() -> tuple[str, JSONDict] | None:
            for k, body in self.response_url_posts:
                if (key is None or k == key) and predicate(body):
                    return k, body
            return None

        def describe() -> str:
            return (
                f"no matching response_url post within {timeout}s; "
                f"posts so far: {self.response_url_posts}"
            )

        return await self._wait(match, timeout, describe)

    async def _wait(
        self,
        match: Callable[[], _T | None],
        timeout: float,  # noqa: ASYNC109
        describe: Callable[[], str],
    ) -> _T:
        try:
            async with asyncio.timeout(timeout), self._changed:
                while (found := match()) is None:
                    await self._changed.wait()
                return found
        except TimeoutError:
            raise AssertionError(describe()) from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ failures

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        queue = self._failures.setdefault(method, deque())
        for _ in range(times):
            queue.append(_Failure(error, status, dict(headers or {})))

    def rate_limit_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        self.fail_next(
            method,
            "ratelimited",
            times=times,
            status=429,
            headers={"Retry-After": str(retry_after)},
        )

    # ------------------------------------------------------------------ data

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        display_name: str = "",
        real_name: str = "",
        tz: str = "UTC",
        is_bot: bool = False,
        email: str | None = None,
    ) -> JSONDict:
        tz_offset, tz_label = _tz_info(tz)
        profile: JSONDict = {
            "avatar_hash": "g0000000000",
            "display_name": display_name,
            "display_name_normalized": display_name,
            "real_name": real_name,
            "real_name_normalized": real_name,
            "status_emoji": "",
            "status_text": "",
            "image_48": f"https://avatars.example.com/{user_id}_48.png",
            "image_72": f"https://avatars.example.com/{user_id}_72.png",
            "team": self.team_id,
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = f"B{user_id[1:]}"
            profile["api_app_id"] = f"A{user_id[1:]}"
        user: JSONDict = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "has_2fa": False,
        }
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_im: bool = False,
        is_mpim: bool = False,
        im_user: str | None = None,
        bot_is_member: bool = True,
    ) -> JSONDict:
        channel: JSONDict = {"id": channel_id, "created": 1_600_000_000, "is_archived": False}
        if is_im:
            channel.update(
                {
                    "is_im": True,
                    "is_org_shared": False,
                    "user": im_user or "",
                    "is_user_deleted": False,
                    "priority": 0,
                }
            )
        else:
            channel.update(
                {
                    "name": name,
                    "name_normalized": name,
                    "is_channel": not is_mpim,
                    "is_group": is_mpim,
                    "is_im": False,
                    "is_mpim": is_mpim,
                    "is_private": is_private or is_mpim,
                    "is_general": name == "general",
                    "is_shared": False,
                    "is_ext_shared": False,
                    "is_org_shared": False,
                    "creator": "U000",
                    "topic": {"value": "", "creator": "", "last_set": 0},
                    "purpose": {"value": "", "creator": "", "last_set": 0},
                }
            )
        channel["is_member"] = bot_is_member
        self.channels[channel_id] = channel
        return channel

    def add_thread(self, channel_id: str, messages: list[JSONDict]) -> None:
        """Register a thread; thread_ts is messages[0]["ts"]. Unknown channels are added
        as public channels (named after the id) the bot is a member of."""
        if not messages:
            raise ValueError("a thread needs at least its parent message")
        if channel_id not in self.channels:
            self.add_channel(channel_id, name=channel_id.lower())
        self.threads[(channel_id, messages[0]["ts"])] = messages

    def add_file(
        self,
        file_id: str,
        name: str,
        content: bytes,
        mimetype: str,
        *,
        title: str | None = None,
        user: str = "U111",
    ) -> JSONDict:
        path = f"/files-pri/{self.team_id}-{file_id}/{name}"
        download_path = f"/files-pri/{self.team_id}-{file_id}/download/{name}"
        self.files[path] = (content, mimetype)
        self.files[download_path] = (content, mimetype)
        filetype = _filetype(name, mimetype)
        return {
            "id": file_id,
            "created": 1_700_000_000,
            "timestamp": 1_700_000_000,
            "name": name,
            "title": title if title is not None else name,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": self.team_id,
            "editable": False,
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": self.base_url + path,
            "url_private_download": self.base_url + download_path,
            "permalink": f"{WORKSPACE_URL}files/{user}/{file_id}/{name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{file_id}-0000000000",
            "has_rich_preview": False,
        }

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._read_params(request)
        call = Call(method=method, params=params, headers=dict(request.headers.items()))
        self.calls.append(call)
        response = self._answer(call)
        # Waiters wake only once the stand-in's own state reflects this call.
        await self._notify()
        return response

    def add_oauth_code(
        self,
        code: str,
        *,
        team_id: str,
        team_name: str,
        installer: str,
        enterprise_id: str | None = None,
    ) -> str:
        """What Slack's authorize page hands the redirect after a user allowed the app in
        ``team_id``; returns the bot token ``oauth.v2.access`` will issue for it."""
        token = f"xoxb-{team_id}-{len(self.workspaces) + 1}"
        self.oauth_codes[code] = {
            "team_id": team_id,
            "team_name": team_name,
            "installer": installer,
            "enterprise_id": enterprise_id,
            "token": token,
        }
        return token

    def token_of(self, call: Call) -> str:
        """The token a call was made with (bearer header or ``token`` parameter)."""
        header = call.headers.get("Authorization", "")
        return header.partition(" ")[2] if header else str(call.params.get("token", ""))

    def _oauth_v2_access(self, p: dict[str, Any]) -> JSONDict:
        grant = self.oauth_codes.pop(str(p.get("code", "")), None)  # a code works once
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        enterprise = grant["enterprise_id"]
        self.workspaces[grant["token"]] = grant
        return {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": grant["installer"]},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": grant["token"],
            "bot_user_id": BOT_USER_ID,
            "team": {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": {"id": enterprise, "name": "Org"} if enterprise else None,
            "is_enterprise_install": False,
        }

    def _client_credentials_ok(self, call: Call) -> bool:
        header = call.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            pair = base64.b64decode(value).decode()
            return pair == f"{self.client_id}:{self.client_secret}"
        return (call.params.get("client_id"), call.params.get("client_secret")) == (
            self.client_id,
            self.client_secret,
        )

    def _answer(self, call: Call) -> web.Response:
        if call.method == "oauth.v2.access":
            if not self._client_credentials_ok(call):
                return _json({"ok": False, "error": "invalid_client_id"})
            return _json(self._oauth_v2_access(call.params))
        self._token = self.token_of(call)
        auth_error = self._check_auth(call)
        if auth_error is not None:
            return _json({"ok": False, "error": auth_error})
        queue = self._failures.get(call.method)
        if queue:
            failure = queue.popleft()
            return _json({"ok": False, "error": failure.error}, failure.status, failure.headers)
        handler = self._handlers().get(call.method)
        body = handler(call.params) if handler is not None else {"ok": True}
        extra = {"x-oauth-scopes": "chat:write,commands"} if call.method == "auth.test" else None
        return _json(body, 200, extra)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query.items())
        if request.method in {"GET", "HEAD"} or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            text = await request.text()
            if text.strip():
                data = json.loads(text)
                if isinstance(data, dict):
                    params.update(data)
            return params
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _maybe_json(key, value)
            elif isinstance(value, FileField):  # multipart file part
                params[key] = value.filename
            else:
                params[key] = bytes(value).decode(errors="replace")
        return params

    def _check_auth(self, call: Call) -> str | None:
        header = call.headers.get("Authorization")
        if header is None:
            token = call.params.get("token")
            if not token:
                return "not_authed"
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer":
                return "invalid_auth"
        if call.method == "apps.connections.open":  # the one method an app token calls
            return None if token == self.app_token else "invalid_auth"
        return None if token == self.bot_token or token in self.workspaces else "invalid_auth"

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.path
        auth = request.headers.get("Authorization")
        self.file_downloads.append((path, auth))
        await self._notify()
        if auth != f"Bearer {self.bot_token}":
            return web.Response(status=403, text=_FORBIDDEN_HTML, content_type="text/html")
        stored = self.files.get(path)
        if stored is None:
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        content, mimetype = stored
        return web.Response(body=content, content_type=mimetype)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """Step 2 of files.uploadV2: the bytes, to the URL step 1 handed out."""
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = await request.read()
        await self._notify()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            body = {"_raw": text}
        self.response_url_posts.append((request.match_info["key"], body))
        await self._notify()
        return web.Response(text="ok", content_type="text/html")

    # ------------------------------------------------------------------ methods

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], JSONDict]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.replies": self._conversations_replies,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.list": self._conversations_list,
            "apps.connections.open": self._apps_connections_open,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
        }

    def _files_get_upload_url(self, p: dict[str, Any]) -> JSONDict:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.uploads) + 1:09d}"
        self.uploads[file_id] = b""
        self._upload_names[file_id] = str(p["filename"])
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _files_complete_upload(self, p: dict[str, Any]) -> JSONDict:
        files = p.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        if not isinstance(files, list) or not all(f.get("id") in self.uploads for f in files):
            return {"ok": False, "error": "invalid_arguments"}
        channel_id = str(p.get("channel_id") or "")
        if channel_id:
            refused = self._share_refusal(channel_id, len(files))
            if refused is not None:
                return {"ok": False, "error": refused}
        shared = []
        for f in files:
            entry = {
                "id": f["id"],
                "title": f.get("title"),
                "channel_id": p.get("channel_id"),
                "initial_comment": p.get("initial_comment"),
                "content": self.uploads[f["id"]],
            }
            self.shared_files.append(entry)
            shared.append({"id": f["id"], "title": f.get("title")})
        if channel_id:
            self._share_message(channel_id, files, p.get("blocks"))
        return {"ok": True, "files": shared}

    def _share_refusal(self, channel_id: str, count: int) -> str | None:
        if count > FILES_PER_MESSAGE:
            return "too_many_files"
        channel = self.channels.get(channel_id)
        if channel_id.startswith("D") and channel is None:
            user = channel_id[1:]
            self.add_channel(channel_id, name=channel_id, is_im=True, im_user=user)
            return None
        if channel is None:
            return "channel_not_found"
        return None if channel.get("is_member", True) else "not_in_channel"

    def _share_message(self, channel_id: str, files: list[JSONDict], blocks: Any) -> None:
        """The message the share makes: the bot's, with the files (downloadable) and the
        blocks, as conversations.replies then returns it."""
        ts = self._next_ts()
        objects = []
        for f in files:
            name = str(self._upload_names.get(f["id"], f["id"]))
            mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            obj = self.add_file(
                f["id"], name, self.uploads[f["id"]], mimetype,
                title=f.get("title"), user=BOT_USER_ID,
            )  # fmt: skip
            self.file_objects[f["id"]] = obj
            self._pending_shares[f["id"]] = (channel_id, ts)
            objects.append(obj)
        message: JSONDict = {
            "type": "message",
            "text": "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "ts": ts,
            "team": self.team_id,
            "upload": True,
            "files": copy.deepcopy(objects),
            "display_as_bot": False,
        }
        if blocks is not None:
            message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks
        self.messages[(channel_id, ts)] = message

    def _files_info(self, p: dict[str, Any]) -> JSONDict:
        file_id = str(p.get("file", ""))
        found = self.file_objects.get(file_id)
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        answer = copy.deepcopy(found)
        if self.shares_hidden:
            return {"ok": True, "file": answer}
        pending = self._pending_shares.pop(file_id, None)
        if pending is None:  # shown from the second call on
            answer["shares"] = copy.deepcopy(found.get("shares", {}))
        else:
            channel_id, ts = pending
            private = self.channels.get(channel_id, {}).get("is_private") or channel_id[:1] == "D"
            found["shares"] = {"private" if private else "public": {channel_id: [{"ts": ts}]}}
        return {"ok": True, "file": answer}

    def _apps_connections_open(self, _p: dict[str, Any]) -> JSONDict:
        return {"ok": True, "url": self.base_url.replace("http", "ws", 1) + "/socket-mode"}

    async def _handle_socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode: hello, then each queued envelope; replies are recorded."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A111"}}
        )
        sender = asyncio.create_task(self._push_envelopes(socket))
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    self.socket_replies.append(json.loads(frame.data))
                    await self._notify()
        finally:
            sender.cancel()
        return socket

    async def _push_envelopes(self, socket: web.WebSocketResponse) -> None:
        while True:
            await socket.send_json(await self.socket_envelopes.get())

    async def wait_for_socket_reply(
        self,
        envelope_id: str,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> JSONDict:
        def match() -> JSONDict | None:
            return next(
                (r for r in self.socket_replies if r.get("envelope_id") == envelope_id), None
            )

        return await self._wait(match, timeout, lambda: f"no Socket Mode reply to {envelope_id}")

    def _next_ts(self) -> str:
        self._ts_micros += 100
        return _ts_from_micros(self._ts_micros)

    def _calling_team(self) -> str:
        """The workspace of the token the current call was made with."""
        installed = self.workspaces.get(self._token)  # a workspace installed through OAuth
        return str(installed["team_id"]) if installed else self.team_id

    def _auth_test(self, p: dict[str, Any]) -> JSONDict:
        installed = self.workspaces.get(self._token)  # a workspace installed through OAuth
        return {
            "ok": True,
            "url": WORKSPACE_URL,
            "team": installed["team_name"] if installed else "Example",
            "user": "xenocept",
            "team_id": installed["team_id"] if installed else self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    @staticmethod
    def _dm_channel(channel: str) -> str:
        return "D" + channel if channel[:1] in {"U", "W"} else channel

    def _chat_post_message(self, p: dict[str, Any]) -> JSONDict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return {"ok": False, "error": "no_text"}
        channel = self._dm_channel(str(channel))
        ts = self._next_ts()
        message: JSONDict = {
            "type": "message",
            "subtype": "bot_message",
            "text": p.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "ts": ts,
            "team": self.team_id,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if p.get(key) is not None:
                message[key] = p[key]
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, p: dict[str, Any]) -> JSONDict:
        channel = self._dm_channel(str(p.get("channel", "")))
        ts = str(p.get("ts", ""))
        message = self.messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in p:
                message[key] = p[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> JSONDict:
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("user"):
            return {"ok": False, "error": "user_not_found"}
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return {"ok": False, "error": "no_text"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _find_message(self, channel: str, ts: str) -> JSONDict | None:
        for (ch, _), thread in self.threads.items():
            if ch != channel:
                continue
            for message in thread:
                if message.get("ts") == ts:
                    return message
        return self.messages.get((channel, ts))

    def _chat_get_permalink(self, p: dict[str, Any]) -> JSONDict:
        channel = str(p.get("channel", ""))
        ts = str(p.get("message_ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        permalink = f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"
        message = self._find_message(channel, ts)
        thread_ts = message.get("thread_ts") if message else None
        if thread_ts and thread_ts != ts:
            permalink += f"?thread_ts={thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    # views

    def _new_view(
        self, view: JSONDict, *, view_id: str, root_view_id: str, previous_view_id: str | None
    ) -> JSONDict:
        team_id = self._calling_team()
        stored: JSONDict = {
            "id": view_id,
            "team_id": team_id,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": view.get("title"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        }
        for key in ("submit_disabled",):
            if key in view:
                stored[key] = view[key]
        self.views[view_id] = stored
        return stored

    def _new_hash(self) -> str:
        self._view_seq += 1
        return f"{self._ts_micros // 1_000_000}.{self._view_seq:08x}"

    def _new_view_id(self) -> str:
        self._view_seq += 1
        return f"V{self._view_seq:010d}"

    @staticmethod
    def _view_arg(p: dict[str, Any]) -> JSONDict | None:
        view = p.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                return None
        return view if isinstance(view, dict) else None

    @staticmethod
    def _invalid_arguments(message: str) -> JSONDict:
        return {
            "ok": False,
            "error": "invalid_arguments",
            "response_metadata": {"messages": [f"[ERROR] {message}"]},
        }

    def _views_open(self, p: dict[str, Any]) -> JSONDict:
        return self._open_or_push(p, push=False)

    def _views_push(self, p: dict[str, Any]) -> JSONDict:
        return self._open_or_push(p, push=True)

    def _open_or_push(self, p: dict[str, Any], *, push: bool) -> JSONDict:
        if not (p.get("trigger_id") or p.get("interactivity_pointer")):
            return self._invalid_arguments("missing required field: trigger_id")
        view = self._view_arg(p)
        if view is None:
            return self._invalid_arguments("missing required field: view")
        view_id = self._new_view_id()
        previous = self.views.get(self._last_modal_id or "") if push else None
        stored = self._new_view(
            view,
            view_id=view_id,
            root_view_id=previous["root_view_id"] if previous else view_id,
            previous_view_id=previous["id"] if previous else None,
        )
        self._last_modal_id = view_id
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_update(self, p: dict[str, Any]) -> JSONDict:
        view = self._view_arg(p)
        if view is None:
            return self._invalid_arguments("missing required field: view")
        current: JSONDict | None = None
        if p.get("view_id"):
            current = self.views.get(str(p["view_id"]))
        elif p.get("external_id"):
            current = next(
                (v for v in self.views.values() if v.get("external_id") == p["external_id"]),
                None,
            )
        if current is None:
            return {"ok": False, "error": "not_found"}
        if p.get("hash") and p["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        updated = self._new_view(
            view,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        if not view.get("external_id"):
            updated["external_id"] = current.get("external_id", "")
        if current["type"] == "home":
            self._sync_home(updated)
        return {"ok": True, "view": copy.deepcopy(updated)}

    def _sync_home(self, view: JSONDict) -> None:
        for user_id, home in list(self.home_views.items()):
            if home["id"] == view["id"]:
                self.home_views[user_id] = view

    def _views_publish(self, p: dict[str, Any]) -> JSONDict:
        user_id = p.get("user_id")
        if not user_id:
            return self._invalid_arguments("missing required field: user_id")
        view = self._view_arg(p)
        if view is None:
            return self._invalid_arguments("missing required field: view")
        current = self.home_views.get(str(user_id))
        if current is not None and p.get("hash") and p["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view_id = current["id"] if current is not None else self._new_view_id()
        stored = self._new_view(
            {**view, "type": "home"},
            view_id=view_id,
            root_view_id=view_id,
            previous_view_id=None,
        )
        self.home_views[str(user_id)] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    # users / conversations

    def _users_info(self, p: dict[str, Any]) -> JSONDict:
        user = self.users.get(str(p.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": copy.deepcopy(user)}

    def _conversations_info(self, p: dict[str, Any]) -> JSONDict:
        channel = self.channels.get(str(p.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        needed = (
            "im:read"
            if channel.get("is_im")
            else "mpim:read"
            if channel.get("is_mpim")
            else "groups:read"
            if channel.get("is_private")
            else "channels:read"
        )
        if self.scopes is not None and needed not in self.scopes:
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": needed,
                "provided": ",".join(sorted(self.scopes)),
            }
        return {"ok": True, "channel": copy.deepcopy(channel)}

    def _conversations_replies(self, p: dict[str, Any]) -> JSONDict:
        channel_id = str(p.get("channel", ""))
        ts = str(p.get("ts", ""))
        channel = self.channels.get(channel_id)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not channel.get("is_member", True):
            return {"ok": False, "error": "not_in_channel"}
        thread = self.threads.get((channel_id, ts))
        if thread is None:
            single = self._find_message(channel_id, ts)
            if single is None:
                return {"ok": False, "error": "thread_not_found"}
            thread = [single]
        try:
            limit = int(p.get("limit") or _MAX_LIMIT)
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_limit"}
        limit = max(1, min(limit, _MAX_LIMIT))
        offset = 0
        cursor = p.get("cursor")
        if cursor:
            decoded = _decode_cursor(str(cursor))
            if decoded is None:
                return {"ok": False, "error": "invalid_cursor"}
            offset = decoded
        page = thread[offset : offset + limit]
        has_more = offset + limit < len(thread)
        return {
            "ok": True,
            "messages": copy.deepcopy(page),
            "has_more": has_more,
            "response_metadata": {
                "next_cursor": _encode_cursor(offset + limit) if has_more else ""
            },
        }

    def _page(self, p: dict[str, Any], items: list[Any], key: str) -> JSONDict:
        """One page of ``items`` as Slack's cursor-paged methods answer."""
        try:
            limit = max(1, min(int(p.get("limit") or 100), 1000))
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_limit"}
        offset = _decode_cursor(str(p["cursor"])) if p.get("cursor") else 0
        if offset is None:
            return {"ok": False, "error": "invalid_cursor"}
        more = offset + limit < len(items)
        return {
            "ok": True,
            key: copy.deepcopy(items[offset : offset + limit]),
            "response_metadata": {"next_cursor": _encode_cursor(offset + limit) if more else ""},
        }

    def _conversations_members(self, p: dict[str, Any]) -> JSONDict:
        channel_id = str(p.get("channel", ""))
        channel = self.channels.get(channel_id)
        if channel is None or (channel.get("is_private") and not channel.get("is_member")):
            return {"ok": False, "error": "channel_not_found"}
        members = self.members.get(channel_id, list(self.users))
        return self._page(p, members, "members")

    def _conversations_list(self, p: dict[str, Any]) -> JSONDict:
        listed = [
            c
            for c in self.channels.values()
            if not c.get("is_im")
            and not c.get("is_mpim")
            and (not c.get("is_private") or c.get("is_member"))
        ]
        return self._page(p, listed, "channels")

    def _conversations_open(self, p: dict[str, Any]) -> JSONDict:
        if p.get("channel"):
            return {"ok": True, "channel": {"id": str(p["channel"])}}
        users = p.get("users")
        if isinstance(users, list):
            ids = [str(u) for u in users]
        else:
            ids = [u for u in str(users or "").split(",") if u]
        if not ids:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(ids) == 1:
            return {"ok": True, "channel": {"id": "D" + ids[0]}}
        return {"ok": True, "channel": {"id": "G" + "".join(sorted(ids))}}


def _maybe_json(key: str, value: str) -> Any:
    if key in _JSON_FORM_FIELDS and value[:1] in {"[", "{"}:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _json(body: JSONDict, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
