"""Compose the email for a forwarded message, thread or Xenocept session.

``SendRequest`` is what the send modal stores in the outbox row (``request_json``):
everything needed to fetch and render later, and nothing secret.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.delivery.compose import Composed
from bot.services import Services
from storage.models import Delivery, Destination

Scope = Literal["thread", "message"]


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

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> SendRequest:
        data = json.loads(text)
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


class SlackSessionComposer:
    """Fetches the conversation from Slack and renders it (implemented in the sessions work)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def compose(self, delivery: Delivery, destination: Destination) -> Composed:
        raise NotImplementedError
