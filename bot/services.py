"""What the listeners and the worker share, built once by :func:`bot.app.create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crypto import SecretBox
from bot.hostguard import HostGuard
from bot.mail.smtp import Mailer
from bot.settings import Settings
from storage.db import SessionFactory


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    box: SecretBox
    guard: HostGuard
    mailer: Mailer
    slack: AsyncWebClient  # bot-token client for work after the ack
    clock: Callable[[], datetime] = field(default=utc_now)
    wake_outbox: Callable[[], None] = field(default=lambda: None)
