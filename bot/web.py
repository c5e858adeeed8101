"""The HTTP face of a Bolt app: ``POST /slack/events`` (signed requests), ``GET /healthz``
and ``GET /readyz``, and with OAuth ``GET /slack/install`` and ``GET /slack/oauth_redirect``;
the bot adds ``POST /xenocept/v1/sessions`` (``bot.share_http``).

The bot serves this, and so does the benchmark's bare Bolt app (``bench/bare_app.py``),
so the comparison measures the listeners and not two different server stacks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[str | None]]  # None when ready, else why not


async def _always_ready() -> str | None:
    return None


def slack_web_app(
    slack: AsyncApp,
    *,
    signing_secret: str | None,
    not_ready: Readiness = _always_ready,
    routes: Sequence[web.RouteDef] = (),
) -> web.Application:
    """Slack's routes and the probes; ``routes`` adds the bot's own (``xenocept share``)."""
    # No secret (Socket Mode): an empty HMAC key anyone could use must not pass.
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def events(request: web.Request) -> web.Response:
        # The signature is checked on the raw bytes before anything parses them:
        # unsigned garbage gets 401 and costs nothing.
        raw = await request.read()
        if not _signed(verifier, raw, request.headers):
            return web.Response(status=401, text="invalid request")
        try:
            body = raw.decode("utf-8")
            bolt_request = AsyncBoltRequest(
                body=body, query=request.query_string, headers=dict(request.headers)
            )
            bolt_response = await slack.async_dispatch(bolt_request)
        except Exception as error:  # signed but malformed: nothing done, one line
            log.warning("refused a malformed signed request: %s", type(error).__name__)
            return web.Response(status=400, text="malformed request")
        if bolt_response.status == 404:  # no listener takes it: a request we do not serve
            log.warning("no listener for a signed request: %s", _kind_of(bolt_request))
            return web.Response(status=400, text="unsupported request")
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})  # liveness: the process answers

    async def readyz(_request: web.Request) -> web.Response:
        problem = await not_ready()
        if problem is not None:
            return web.json_response({"ok": False, "reason": problem}, status=503)
        return web.json_response({"ok": True})

    application = web.Application()
    application.router.add_post("/slack/events", events)
    application.router.add_get("/healthz", healthz)
    application.router.add_get("/readyz", readyz)
    application.router.add_routes(routes)
    flow = slack.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))

        async def oauth_redirect(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await flow.handle_callback(bolt_request))

        application.router.add_get(flow.install_path, install)
        application.router.add_get(flow.redirect_uri_path, oauth_redirect)
    return application


def _kind_of(request: AsyncBoltRequest) -> str:
    body = request.body if isinstance(request.body, dict) else {}
    return str(body.get("type") or body.get("command") or "unknown")


def _signed(verifier: SignatureVerifier | None, raw: bytes, headers: Mapping[str, str]) -> bool:
    if verifier is None:
        return False
    try:
        return verifier.is_valid(
            body=raw,
            timestamp=headers.get("X-Slack-Request-Timestamp", ""),
            signature=headers.get("X-Slack-Signature", ""),
        )
    except (ValueError, TypeError):  # a timestamp that is not a whole number, bytes that
        return False  # are not UTF-8: nothing Slack sends
