"""What a send asks for, stored in the outbox row (``request_json``) when Slack is
acknowledged and read by the worker later: everything needed to fetch and render the
conversation, and nothing secret. It sits low, beside the render model, because both the
accepting side (``bot/sending.py``) and the worker read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from bot.render import default_subject, session_in
from bot.render.model import Conversation

Scope = Literal["thread", "message"]

# The names Slack's shortcut payload gives conversations it does not name.
SHORTCUT_PLACEHOLDER_NAMES = frozenset({"directmessage", "privategroup"})


def conversation_label(channel_id: str, channel_name: str | None) -> str:
    """What the payload alone says of a conversation: "#name", or its kind ("a direct
    message", "a group DM", "a private channel", "a conversation")."""
    name = channel_name or ""
    if channel_id.startswith("D"):
        return "a direct message"
    if name.startswith("mpdm-"):
        return "a group DM"
    if name and name not in SHORTCUT_PLACEHOLDER_NAMES:
        return f"#{name}"
    return "a private channel" if channel_id.startswith("G") else "a conversation"


def thread_parent_ts(message: dict[str, Any]) -> str | None:
    """The ts of the thread ``message`` belongs to (its own when it has replies), or None
    when it stands alone: the one answer to "is this a thread?"."""
    if message.get("thread_ts"):
        return str(message["thread_ts"])
    if message.get("reply_count") and message.get("ts"):
        return str(message["ts"])
    return None


@dataclass(frozen=True)
class SendRequest:
    channel_id: str
    channel_name: str | None  # as the shortcut payload gave it
    message_ts: str
    thread_ts: str | None  # the thread parent's ts when the message is in a thread
    scope: Scope
    subject: str
    note: str | None
    message: dict[str, Any] = field(default_factory=dict)  # the shortcut payload's message
    subject_is_prefill: bool = False  # the user kept the subject we suggested
    conversation_kind: str = "public"  # "public", "private", "mpim", "im" (bot/policy.py)
    # Asked without the message in hand (a reaction names only its ts): the worker reads
    # it, and sends its whole thread when it has replies, else the message alone.
    scope_follows_message: bool = False
    # A follow's daily digest: the messages collected, each read as a reaction would be
    # and shown under a heading of its own, in one email.
    digest: tuple[dict[str, Any], ...] = ()

    @property
    def in_thread(self) -> bool:
        return bool(self.thread_ts) or thread_parent_ts(self.message) is not None

    def subject_for(self, conversation: Conversation) -> str:
        """The user's subject; a session's first Note when they kept our suggestion."""
        if not self.subject or (self.subject_is_prefill and session_in(conversation)):
            return default_subject(conversation)
        return self.subject

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> SendRequest:
        data = json.loads(text)
        if "digest" in data:
            data["digest"] = tuple(data["digest"])
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})

    def for_item(self, message: dict[str, Any]) -> SendRequest:
        """One digest item as a request of its own (same conversation, that message)."""
        ts = str(message.get("ts", ""))
        return replace(self, message_ts=ts, message=message, digest=(), scope_follows_message=True)
