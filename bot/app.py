"""Builds everything from settings: engine, crypto, mailer, worker and the Slack app.

Nothing is created at import time; tests call :func:`create_app` with their own settings.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import platformdirs
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.crypto import SecretBox, load_keys
from bot.delivery.compose import SessionComposer
from bot.delivery.outbox import Outbox
from bot.delivery.session_compose import SlackSessionComposer
from bot.delivery.worker_process import WorkerProcess
from bot.hostguard import HostGuard, Resolver, system_resolver
from bot.listeners import register_listeners
from bot.listeners.common import SERVICES_KEY
from bot.listeners.shape import refuse_malformed
from bot.listeners.tasks import ListenerTasks
from bot.mail.smtp import Mailer
from bot.oauth import BOT_SCOPES, InstallationStore, StateStore, WorkspaceClients
from bot.render.html import prepare as prepare_templates
from bot.services import Services
from bot.settings import Settings
from bot.share_http import share_routes
from bot.web import slack_web_app
from storage import migrate
from storage.db import create_engine, session_factory, sqlite_path
from storage.migrate import prepare

log = logging.getLogger(__name__)

SLACK_API_DEFAULT = "https://slack.com/api/"
READY_CHECK_SECONDS = 2.0  # a readiness probe answers well within its usual 5 s timeout
FORM_HOST_CHECK_SECONDS = 2.0  # DNS inside a view submission must leave room in Slack's 3 s


@dataclass
class XenoceptApp:
    services: Services
    slack: AsyncApp
    outbox: Outbox
    listeners: ListenerTasks
    # ``xenocept run``: the outbox runs in this child process instead of in this loop.
    worker_process: WorkerProcess | None = None

    async def start(self) -> None:
        engine = self.services.engine
        await prepare(engine)  # SQLite upgrades itself; others must be current
        if self.worker_process is not None:
            await self.worker_process.start()
            self.services.wake_outbox = self.worker_process.wake
        else:
            # Only a SQLite bot is alone on its database: what was in flight was its own.
            # Instances sharing PostgreSQL take over a dead one's claims when leases expire.
            await self.outbox.start(release_in_flight=engine.dialect.name == "sqlite")
        # One HTTP session (its keep-alive connections) for every Web API call from here on
        # (the worker's tasks have not run yet): without it slack_sdk opens a session, and a
        # connection, per call. Made last, so a start that fails leaves none open.
        slack = self.services.slack
        slack.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=slack.timeout))

    async def stop(self, *, grace: float = 5.0) -> None:
        """Let acked listeners finish (they may queue sends), then the outbox's pass."""
        cut = await self.listeners.finish(grace=grace)
        if cut:
            log.warning("%d listener(s) still running after %.0f s were cut short", cut, grace)
        if self.worker_process is not None:
            await self.worker_process.stop(grace=grace)
        else:
            await self.outbox.stop(grace=grace)
        await self.services.engine.dispose()
        if self.services.slack.session is not None:
            await self.services.slack.session.close()

    async def not_ready(self) -> str | None:
        """Why this instance should get no traffic (None: ready): for load balancers."""
        worker = self.worker_process or self.outbox
        if not worker.alive:
            return "the outbox worker is not running"
        try:
            async with asyncio.timeout(READY_CHECK_SECONDS):
                found = await migrate.state(self.services.engine)
        except Exception as error:  # unreachable, locked, full: say which, not a traceback
            return f"the database does not answer ({type(error).__name__})"
        if not found.up_to_date:
            return (
                f"the database schema is at revision {found.current or 'none'}; this "
                f"version needs {found.head}"
            )
        return None

    def web_app(self) -> web.Application:
        """``POST /slack/events`` (signed requests), ``GET /healthz`` and ``GET /readyz``,
        ``POST /xenocept/v1/sessions`` (``xenocept share``); installing through OAuth adds
        ``GET /slack/install`` and ``/slack/oauth_redirect``."""
        secret = self.services.settings.slack_signing_secret
        return slack_web_app(
            self.slack,
            signing_secret=secret.get_secret_value() if secret else None,
            not_ready=self.not_ready,
            routes=share_routes(self.services),
        )


def key_file_for(settings: Settings) -> Path:
    if settings.key_file:
        return settings.key_file
    database = sqlite_path(settings.resolved_database_url())
    folder = database.parent if database else Path(platformdirs.user_data_dir("xenocept"))
    return folder / "xenocept.key"


def build_secret_box(settings: Settings) -> SecretBox:
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    return SecretBox(load_keys(configured=configured, key_file=key_file_for(settings)))


def slack_client(settings: Settings) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url or SLACK_API_DEFAULT,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def create_app(
    settings: Settings,
    *,
    resolver: Resolver = system_resolver,
    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    session_composer: Callable[[Services], SessionComposer] = SlackSessionComposer,
    outbox_only: bool = False,
) -> XenoceptApp:
    """Everything the bot needs; ``outbox_only``: for the worker process, whose loop only
    delivers, so its SQLite commits need not leave the loop free (``sqlite_inline``)."""
    engine = create_engine(settings.resolved_database_url(), commit_in_thread=not outbox_only)
    prepare_templates()  # compiled now, not in the first send
    guard = HostGuard(
        allowed=settings.allowed_smtp_hosts, resolver=resolver, timeout=FORM_HOST_CHECK_SECONDS
    )
    client = slack_client(settings)
    services = Services(
        settings=settings,
        engine=engine,
        database=session_factory(engine),
        box=build_secret_box(settings),
        guard=guard,
        mailer=Mailer(guard=guard, timeout=settings.smtp_timeout_seconds, tls_context=tls_context),
        slack=client,
    )
    # Database writes and status messages retry on a short clock of their own, never
    # slower than the send retries (tests shorten those).
    outbox = Outbox(
        services,
        sessions_composer=session_composer(services),
        lease=timedelta(seconds=settings.lease_seconds),
        retry_writes_every=min(1.0, settings.retry_base_seconds),
        status_catch_up_every=min(5.0, settings.retry_base_seconds),
    )
    services.wake_outbox = outbox.wake
    signing = settings.slack_signing_secret
    # Without a signing secret every HTTP request fails verification (401), never passes.
    slack = AsyncApp(
        client=client,
        signing_secret=signing.get_secret_value() if signing else "",
        # Answered when a listener acks, not at Bolt's next 10 ms look (listeners/tasks.py).
        process_before_response=True,
        **_oauth(settings, services),
    )
    slack.middleware(refuse_malformed)  # before any listener relies on Slack's fields
    slack.middleware(_inject(services))
    slack.error(_log_error)
    listeners = ListenerTasks()
    register_listeners(slack, listeners)
    return XenoceptApp(services=services, slack=slack, outbox=outbox, listeners=listeners)


def _oauth(settings: Settings, services: Services) -> dict[str, Any]:
    """Many workspaces: Slack's OAuth install flow, its stores in our database."""
    if not settings.installs_through_oauth:
        return {}
    assert settings.slack_client_id and settings.slack_client_secret
    store = InstallationStore(database=services.database, box=services.box)
    services.workspaces = WorkspaceClients(store=store, template=services.slack)
    api = urlsplit(settings.slack_api_url or SLACK_API_DEFAULT)
    return {
        "installation_store_bot_only": True,
        "oauth_settings": AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            installation_store=store,
            installation_store_bot_only=True,
            state_store=StateStore(database=services.database),
            # GovSlack and test stand-ins authorize where their Web API lives.
            authorization_url=f"{api.scheme}://{api.netloc}/oauth/v2/authorize",
        ),
    }


def _inject(services: Services) -> Callable[..., Awaitable[Any]]:
    async def inject_services(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context[SERVICES_KEY] = services
        return await next()

    return inject_services


async def _log_error(error: Exception, body: dict[str, Any]) -> None:
    """One place for unexpected listener errors: logged for the operator, never shown raw."""
    log.error(
        "listener failed for %s: %s",
        body.get("type") or body.get("command"),
        type(error).__name__,
        exc_info=error,
    )
