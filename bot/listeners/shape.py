"""Signed requests that cannot be what Slack sends are refused before any listener runs.

A listener may then rely on the fields Slack always sends for its kind of request; a
malformed one (a replay edited by hand, a broken proxy) gets 400 and one log line, never
a traceback, a 500 or an exception after ``ack()``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slackdata.clean import without_lone_surrogates

log = logging.getLogger(__name__)


def _is_id(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _user_id(body: Mapping[str, Any]) -> object:
    user = body.get("user")
    return user.get("id") if isinstance(user, Mapping) else body.get("user_id")


def _view_problem(view: object) -> str | None:
    if not isinstance(view, Mapping):
        return "no view"
    state = view.get("state")
    if not isinstance(state, Mapping) or not isinstance(state.get("values"), Mapping):
        return "no view state"
    if not isinstance(view.get("private_metadata", ""), str):
        return "private_metadata is not text"
    return None


def payload_problem(body: object) -> str | None:
    """What makes ``body`` unlike anything Slack sends (None: it looks like Slack's)."""
    if not isinstance(body, Mapping) or not body:
        return "not an object"
    kind = body.get("type")
    if body.get("command"):
        if not (_is_id(body.get("user_id")) and _is_id(body.get("trigger_id"))):
            return "a command without user_id or trigger_id"
        return None
    if kind == "event_callback":
        return None if isinstance(body.get("event"), Mapping) else "an event without event"
    if kind in ("url_verification", "app_rate_limited"):
        return None
    if not _is_id(_user_id(body)):
        return f"a {kind or 'request'} without a user"
    if kind in ("view_submission", "view_closed"):
        return _view_problem(body.get("view"))
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(
            isinstance(a, Mapping)
            and _is_id(a.get("action_id"))
            and isinstance(a.get("value", ""), str)
            for a in actions
        ):
            return "an action without action_id or with a value that is not text"
        if "view" in body and _view_problem(body["view"]):
            return _view_problem(body["view"])
        return None
    if kind == "message_action":
        if not (
            isinstance(body.get("message"), Mapping)
            and _is_id(body.get("trigger_id"))
            and isinstance(body.get("channel"), Mapping)
        ):
            return "a message shortcut without message, channel or trigger_id"
        return None
    if kind == "shortcut":
        return None if _is_id(body.get("trigger_id")) else "a shortcut without trigger_id"
    if kind == "block_suggestion":
        return None if isinstance(body.get("value", ""), str) else "a search that is not text"
    return None


async def refuse_malformed(
    req: AsyncBoltRequest,
    resp: BoltResponse,
    next: Callable[[], Awaitable[BoltResponse]],
) -> BoltResponse:
    """Bolt middleware: 400 for what no Slack request looks like; lone surrogates in what
    is kept become U+FFFD before any listener reads it."""
    problem = payload_problem(req.body)
    if problem is not None:
        log.warning("refused a malformed request: %s", problem)
        return BoltResponse(status=400, body="malformed request")
    without_lone_surrogates(req.body)
    return await next()
