"""What the listeners and the worker share, built once by :func:`bot.app.create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.crypto import SecretBox
from bot.hostguard import HostGuard
from bot.mail.smtp import Mailer
from bot.oauth import WorkspaceClients
from bot.settings import Settings
from bot.slackdata.recent import RecentAnswers
from storage.db import Engine, SessionFactory
from storage.models import Delivery, Owner


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    database: SessionFactory
    box: SecretBox
    guard: HostGuard
    mailer: Mailer
    slack: AsyncWebClient  # bot-token client for work after the ack (tokenless with OAuth)
    clock: Callable[[], datetime] = field(default=utc_now)
    wake_outbox: Callable[[], None] = field(default=lambda: None)
    workspaces: WorkspaceClients | None = None  # installs through OAuth: a token per workspace
    # "team:channel" → its kind, as conversations.info said (asked before some acks).
    conversation_kinds: RecentAnswers[str] = field(
        default_factory=lambda: RecentAnswers(ttl=600.0, size=5_000)
    )

    async def slack_of(self, delivery: Delivery) -> AsyncWebClient:
        """The bot client of the delivery's workspace: the one token, or its installation's."""
        return await self.slack_for(delivery.owner)

    async def slack_for(self, owner: Owner) -> AsyncWebClient:
        """The bot client of ``owner``'s workspace (work no Slack request brought a client
        for: deliveries, uploads from a desktop)."""
        if self.workspaces is None:
            return self.slack
        return await self.workspaces.client(
            team_id=owner.team_id, enterprise_id=owner.enterprise_id
        )
