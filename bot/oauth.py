"""Many workspaces: Slack's OAuth install flow with its stores in our database.

- :class:`InstallationStore` is slack-sdk's ``AsyncInstallationStore`` over the
  ``installation`` table. Bot tokens are sealed with the same :class:`SecretBox` as SMTP
  passwords, bound to their (enterprise, team); only the bot token is kept (we ask for no
  user scopes).
- :class:`StateStore` is its ``AsyncOAuthStateStore`` over ``oauth_state``: a state is
  valid once, on any instance, until it expires.
- :class:`WorkspaceClients` gives the outbox the Web API client of a delivery's workspace.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.crypto import Sealed, SecretBox
from bot.errors import NotInstalled
from storage import installations
from storage.db import SessionFactory, transaction
from storage.models import Installation as InstallationRow

log = logging.getLogger(__name__)

# What the app asks for when installed (manifest.yml and manifest.distributed.yml say the same).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "users:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "channels:read",
    "groups:read",
    "im:read",
    "mpim:read",
    "files:read",
    "files:write",
    "im:write",
    "reactions:read",
)


def token_context(enterprise_id: str, team_id: str) -> str:
    """Associated data binding a sealed bot token to its workspace."""
    return f"installation:{enterprise_id}:{team_id}"


class InstallationStore(AsyncInstallationStore):
    def __init__(self, *, database: SessionFactory, box: SecretBox) -> None:
        self._database = database
        self._box = box

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self._save(installation.to_bot(), installer=installation.user_id or "")

    async def async_save_bot(self, bot: Bot) -> None:
        await self._save(bot, installer="")

    async def _save(self, bot: Bot, *, installer: str) -> None:
        enterprise, team = (
            bot.enterprise_id or "",
            "" if bot.is_enterprise_install else (bot.team_id or ""),
        )
        sealed = self._box.seal(bot.bot_token, context=token_context(enterprise, team))
        row = InstallationRow(
            enterprise_id=enterprise,
            team_id=team,
            is_enterprise_install=bool(bot.is_enterprise_install),
            app_id=bot.app_id,
            enterprise_name=bot.enterprise_name,
            team_name=bot.team_name,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=",".join(bot.bot_scopes or []),
            installer_user_id=installer,
            token_key_id=sealed.key_id,
            token_ciphertext=sealed.ciphertext,
        )
        async with transaction(self._database) as db:
            await installations.save_installation(db=db, installation=row)
        log.info("installed in %s", team or enterprise)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return installation.to_bot() if installation is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        row = await self.find_row(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if row is None:
            return None
        return Installation(
            app_id=row.app_id,
            enterprise_id=row.enterprise_id or None,
            enterprise_name=row.enterprise_name,
            team_id=row.team_id or None,
            team_name=row.team_name,
            bot_token=self.token_of(row),
            bot_id=row.bot_id,
            bot_user_id=row.bot_user_id,
            bot_scopes=row.bot_scopes,
            user_id=row.installer_user_id,
            is_enterprise_install=row.is_enterprise_install,
            installed_at=row.installed_at,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        async with transaction(self._database) as db:
            await installations.delete_installations(
                db=db, enterprise_id=enterprise_id or "", team_id=team_id or ""
            )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def find_row(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> InstallationRow | None:
        async with transaction(self._database) as db:
            return await installations.find_installation(
                db=db,
                enterprise_id=enterprise_id or "",
                team_id=team_id or "",
                is_enterprise_install=bool(is_enterprise_install),
            )

    def token_of(self, row: InstallationRow) -> str:
        return self._box.open(
            Sealed(row.token_key_id, row.token_ciphertext),
            context=token_context(row.enterprise_id, row.team_id),
            label=f"the bot token of {row.team_name or row.team_id}",
        )


class StateStore(AsyncOAuthStateStore):
    def __init__(
        self,
        *,
        database: SessionFactory,
        expiration_seconds: int = 600,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._lifetime = timedelta(seconds=expiration_seconds)
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        async with transaction(self._database) as db:
            await installations.issue_state(
                db=db, state=state, expires_at=self._clock() + self._lifetime
            )
        return state

    async def async_consume(self, state: str) -> bool:
        async with transaction(self._database) as db:
            return await installations.consume_state(db=db, state=state, now=self._clock())


class WorkspaceClients:
    """The Web API client for a workspace's own bot token (the outbox's work after acks)."""

    def __init__(self, *, store: InstallationStore, template: AsyncWebClient) -> None:
        self._store = store
        self._template = template

    async def client(self, *, team_id: str, enterprise_id: str = "") -> AsyncWebClient:
        row = await self._store.find_row(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=False
        )
        if row is None:
            raise NotInstalled(team_id=team_id, enterprise_id=enterprise_id)
        template = self._template
        return AsyncWebClient(
            token=self._store.token_of(row),
            base_url=template.base_url,
            timeout=template.timeout,
            retry_handlers=template.retry_handlers,
            session=template.session,  # the app's shared connections
        )
