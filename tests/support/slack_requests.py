"""Signed HTTP requests built exactly as Slack sends them (HTTP mode, POST /slack/events).

Payload builders return dicts shaped after ``/work/shared/reference/slack-payloads/``;
`SlackRequests.interactivity()` / `.event()` / `.slash_command()` turn them into a
`SignedRequest` (raw body + headers) for aiohttp's test client::

    payload = slack_requests.global_shortcut(user_id="U1", callback_id="x")
    req = slack_requests.interactivity(payload)
    resp = await client.post("/slack/events", data=req.body, headers=req.headers)
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

__all__ = ["FORM", "JSON", "SignedRequest", "SlackRequests"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
API_APP_ID = "A111"
TEAM_DOMAIN = "example"
VERIFICATION_TOKEN = "verification_token"
BOT_USER_ID = "UBOT"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

JSONDict = dict[str, Any]
_TRIGGERS = itertools.count(1)


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str]


class SlackRequests:
    def __init__(
        self,
        signing_secret: str,
        *,
        team_id: str = "T111",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.clock = clock

    # ------------------------------------------------------------------ signing

    def sign(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> SignedRequest:
        ts = str(int(self.clock()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(self.signing_secret if secret is None else secret)
        signature = verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        return SignedRequest(
            body=body,
            headers={
                "Content-Type": content_type,
                "User-Agent": USER_AGENT,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
            },
        )

    # ------------------------------------------------------------------ requests

    def slash_command(
        self,
        *,
        user_id: str,
        text: str,
        command: str = "/xenocept",
        channel_id: str = "C111",
        channel_name: str = "general",
        response_url: str,
        trigger_id: str | None = None,
        user_name: str | None = None,
    ) -> SignedRequest:
        fields = [
            ("token", VERIFICATION_TOKEN),
            ("team_id", self.team_id),
            ("team_domain", TEAM_DOMAIN),
            ("channel_id", channel_id),
            ("channel_name", channel_name),
            ("user_id", user_id),
            ("user_name", user_name if user_name is not None else user_id.lower()),
            ("command", command),
            ("text", text),
            ("api_app_id", API_APP_ID),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id or self.new_trigger_id()),
        ]
        return self.sign(urlencode(fields), FORM)

    def new_trigger_id(self) -> str:
        """Slack gives every command and button click its own trigger id."""
        return f"{int(self.clock())}.{next(_TRIGGERS)}.trigger"

    @staticmethod
    def retried(signed: SignedRequest, attempt: int = 1) -> SignedRequest:
        """The same request again, as Slack retries it after no timely answer."""
        return SignedRequest(
            body=signed.body,
            headers={
                **signed.headers,
                "X-Slack-Retry-Num": str(attempt),
                "X-Slack-Retry-Reason": "http_timeout",
            },
        )

    def interactivity(self, payload: dict[str, Any]) -> SignedRequest:
        return self.sign(urlencode({"payload": _compact(payload)}), FORM)

    def event(
        self, event: dict[str, Any], *, event_id: str = "Ev111", retry_num: int | None = None
    ) -> SignedRequest:
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(self.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{event_id}",
        }
        signed = self.sign(_compact(body), JSON)
        if retry_num is None:
            return signed
        headers = {
            **signed.headers,
            "X-Slack-Retry-Num": str(retry_num),
            "X-Slack-Retry-Reason": "http_timeout",
        }
        return SignedRequest(body=signed.body, headers=headers)

    # ------------------------------------------------------------------ events

    def reaction_added(
        self, *, user_id: str, reaction: str, channel_id: str, ts: str, item_user: str = "U0BOB"
    ) -> JSONDict:
        """The ``reaction_added`` event as the Events API delivers it (docs.slack.dev)."""
        return {
            "type": "reaction_added",
            "user": user_id,
            "reaction": reaction,
            "item_user": item_user,
            "item": {"type": "message", "channel": channel_id, "ts": ts},
            "event_ts": f"{self.clock():.6f}",
        }

    def channel_message(
        self,
        *,
        user_id: str,
        channel_id: str,
        ts: str,
        text: str = "",
        files: list[dict[str, Any]] | None = None,
        channel_type: str = "channel",
        thread_ts: str | None = None,
        subtype: str | None = None,
        bot_id: str | None = None,
    ) -> JSONDict:
        """A ``message.channels`` / ``message.groups`` event: a new post (a ``file_share``
        when it carries files)."""
        event: JSONDict = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": channel_type,
        }
        if files:
            event["files"] = copy.deepcopy(files)
            event["subtype"] = "file_share"
            event["upload"] = False
        if subtype is not None:
            event["subtype"] = subtype
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        if bot_id is not None:
            event["bot_id"] = bot_id
        return event

    # ------------------------------------------------------------------ payloads

    def _team(self) -> JSONDict:
        return {"id": self.team_id, "domain": TEAM_DOMAIN}

    def _user(self, user_id: str) -> JSONDict:
        name = user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _action_ts(self) -> str:
        return f"{self.clock():.6f}"

    def _common(self, kind: str, user_id: str, trigger_id: str) -> JSONDict:
        return {
            "type": kind,
            "token": VERIFICATION_TOKEN,
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": API_APP_ID,
            "is_enterprise_install": False,
            "enterprise": None,
            "trigger_id": trigger_id,
        }

    def global_shortcut(
        self, *, user_id: str, callback_id: str, trigger_id: str = "111.222.trigger"
    ) -> JSONDict:
        return {
            **self._common("shortcut", user_id, trigger_id),
            "action_ts": self._action_ts(),
            "callback_id": callback_id,
        }

    def message_shortcut(
        self,
        *,
        user_id: str,
        callback_id: str,
        channel_id: str,
        channel_name: str,
        message: dict[str, Any],
        response_url: str,
        trigger_id: str = "111.222.trigger",
    ) -> JSONDict:
        return {
            **self._common("message_action", user_id, trigger_id),
            "action_ts": self._action_ts(),
            "channel": {"id": channel_id, "name": channel_name},
            "callback_id": callback_id,
            "message_ts": message["ts"],
            "message": copy.deepcopy(message),
            "response_url": response_url,
        }

    def view_submission(
        self, *, user_id: str, view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]]
    ) -> JSONDict:
        submitted = copy.deepcopy(view)
        submitted.setdefault("team_id", self.team_id)
        submitted.setdefault("type", "modal")
        submitted["state"] = {"values": copy.deepcopy(values)}
        return {
            **self._common("view_submission", user_id, "111.222.submission"),
            "view": submitted,
            "response_urls": [],
        }

    def block_suggestion(
        self,
        *,
        user_id: str,
        action_id: str,
        block_id: str,
        value: str,
        view: dict[str, Any],
    ) -> JSONDict:
        """An options request: the user typed ``value`` into an external_select."""
        payload = self._common("block_suggestion", user_id, "")
        del payload["trigger_id"]  # options requests carry none
        full_view = copy.deepcopy(view)
        full_view.setdefault("team_id", self.team_id)
        full_view.setdefault("state", {"values": {}})
        return {
            **payload,
            "container": {"type": "view", "view_id": full_view.get("id", "")},
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "view": full_view,
            "action_ts": self._action_ts(),
        }

    def block_actions(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str | None = None,
        block_id: str = "b",
        view: dict[str, Any] | None = None,
        channel_id: str | None = None,
        message: dict[str, Any] | None = None,
        response_url: str | None = None,
        selected_option_value: str | None = None,
        trigger_id: str | None = None,
    ) -> JSONDict:
        action_ts = self._action_ts()
        action: JSONDict
        if selected_option_value is not None:
            action = {
                "type": "static_select",
                "action_id": action_id,
                "block_id": block_id,
                "selected_option": {
                    "text": {"type": "plain_text", "text": selected_option_value, "emoji": True},
                    "value": selected_option_value,
                },
                "action_ts": action_ts,
            }
        else:
            action = {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "action_ts": action_ts,
            }
            if value is not None:
                action["value"] = value
        payload = self._common("block_actions", user_id, trigger_id or self.new_trigger_id())
        if view is not None:
            full_view = copy.deepcopy(view)
            full_view.setdefault("team_id", self.team_id)
            full_view.setdefault("type", "modal")
            full_view.setdefault("state", {"values": {}})
            payload["container"] = {"type": "view", "view_id": full_view.get("id", "")}
            payload["view"] = full_view
        else:
            msg = copy.deepcopy(message) if message is not None else {}
            channel = channel_id or "C111"
            payload["container"] = {
                "type": "message",
                "message_ts": msg.get("ts", ""),
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel}
            payload["message"] = msg
            payload["state"] = {"values": {}}
        if response_url is not None:
            payload["response_url"] = response_url
        payload["actions"] = [action]
        return payload


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
