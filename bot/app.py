"""Builds everything from settings: engine, crypto, mailer, worker and the Slack app.

Nothing is created at import time; tests call :func:`create_app` with their own settings.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.crypto import SecretBox, load_keys
from bot.delivery.compose import SessionComposer
from bot.delivery.outbox import Outbox
from bot.delivery.session_compose import SlackSessionComposer
from bot.hostguard import HostGuard, Resolver, system_resolver
from bot.listeners import register_listeners
from bot.listeners.common import SERVICES_KEY
from bot.mail.smtp import Mailer
from bot.services import Services
from bot.settings import Settings
from storage.db import create_engine, create_tables, session_factory, sqlite_path

log = logging.getLogger(__name__)

SLACK_API_DEFAULT = "https://slack.com/api/"
FORM_HOST_CHECK_SECONDS = 2.0  # DNS inside a view submission must leave room in Slack's 3 s


@dataclass
class XenoceptApp:
    services: Services
    slack: AsyncApp
    outbox: Outbox

    async def start(self) -> None:
        await create_tables(self.services.engine)
        await self.outbox.start()

    async def stop(self) -> None:
        await _finish_listeners(grace=5.0)
        await self.outbox.stop()
        await self.services.engine.dispose()

    def web_app(self) -> web.Application:
        """``POST /slack/events`` (signed requests) and ``GET /healthz``."""

        async def events(request: web.Request) -> web.Response:
            bolt_response = await self.slack.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(bolt_response)

        async def healthz(_request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        application = web.Application()
        application.router.add_post("/slack/events", events)
        application.router.add_get("/healthz", healthz)
        return application


async def _finish_listeners(*, grace: float) -> None:
    """Let listeners that already acked finish their work (a shutdown, not an abort).

    Bolt runs the part of a listener after ``ack()`` as an untracked task; we find them by
    the name of the coroutine Bolt wraps them in.
    """
    current = asyncio.current_task()
    running = [task for task in asyncio.all_tasks() if task is not current
               and getattr(task.get_coro(), "__name__", "") == "run_ack_function_asynchronously"]
    if running:
        await asyncio.wait(running, timeout=grace)


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
        token=token, base_url=settings.slack_api_url or SLACK_API_DEFAULT,
        retry_handlers=[AsyncConnectionErrorRetryHandler(),
                        AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
    )


def create_app(
    settings: Settings,
    *,
    resolver: Resolver = system_resolver,
    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    session_composer: Callable[[Services], SessionComposer] = SlackSessionComposer,
) -> XenoceptApp:
    engine = create_engine(settings.resolved_database_url())
    guard = HostGuard(allowed=settings.allowed_smtp_hosts, resolver=resolver,
                      timeout=FORM_HOST_CHECK_SECONDS)
    client = slack_client(settings)
    services = Services(
        settings=settings, engine=engine, sessions=session_factory(engine),
        box=build_secret_box(settings), guard=guard,
        mailer=Mailer(guard=guard, timeout=settings.smtp_timeout_seconds,
                      tls_context=tls_context),
        slack=client,
    )
    outbox = Outbox(services, sessions_composer=session_composer(services))
    services.wake_outbox = outbox.wake
    signing = settings.slack_signing_secret
    # Without a signing secret every HTTP request fails verification (401), never passes.
    slack = AsyncApp(client=client, signing_secret=signing.get_secret_value() if signing else "")
    slack.middleware(_inject(services))
    slack.error(_log_error)
    register_listeners(slack)
    return XenoceptApp(services=services, slack=slack, outbox=outbox)


def _inject(services: Services) -> Callable[..., Awaitable[Any]]:
    async def inject_services(
        context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
    ) -> Any:
        context[SERVICES_KEY] = services
        return await next()

    return inject_services


async def _log_error(error: Exception, body: dict[str, Any]) -> None:
    """One place for unexpected listener errors: logged for the operator, never shown raw."""
    log.error("listener failed for %s: %s", body.get("type") or body.get("command"),
              type(error).__name__, exc_info=error)
