"""The whole app wired to local stand-ins, driven the way Slack drives it.

``Harness`` owns a real Bolt app behind aiohttp (signed HTTP requests), a real SQLite
file, the iCloud-like SMTP server and the Slack Web API stand-in.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiohttp.test_utils import TestClient, TestServer

from bot import ids
from bot.app import XenoceptApp, create_app
from bot.destination_service import password_context
from bot.settings import Settings
from storage import destinations
from storage.db import transaction
from storage.models import DestinationFields, Owner, Security, new_id
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.slack_requests import SignedRequest, SlackRequests
from tests.support.slack_standin import Call, SlackStandIn

JANE = "U0JANE"
BOB = "U0BOB"
ASP = "tmah-jdbq-rdby-gdes"
JANE_LOGIN = "jane@icloud.com"
JANE_ALIAS = "jane@janedoe.example"  # a verified custom-domain address
APPLE_ID_PASSWORD = "Correct-Horse-7"


def trusting(ca: trustme.CA) -> Callable[[], ssl.SSLContext]:
    """The system trust store plus the test CA (what SSL_CERT_FILE does for operators)."""

    def factory() -> ssl.SSLContext:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        return context

    return factory


def loopback_resolver(names: dict[str, str]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host in names:
            return [names[host]]
        raise OSError(f"no such host {host}")

    return resolve


@dataclass
class Harness:
    app: XenoceptApp
    http: TestClient[Any, Any]
    slack: SlackStandIn
    smtp: ICloudLikeServer
    requests: SlackRequests
    database_path: Any
    responses: list[Any] = field(default_factory=list)

    async def send(self, signed: SignedRequest) -> tuple[int, Any]:
        response = await self.http.post(
            "/slack/events", data=signed.body.encode(), headers=signed.headers
        )
        text = await response.text()
        body = json.loads(text) if text.startswith("{") else text
        self.slack.ack_bodies.append(body)
        return response.status, body

    async def command(self, text: str, *, user: str = JANE) -> tuple[int, Any]:
        return await self.send(
            self.requests.slash_command(
                user_id=user, text=text, response_url=self.slack.response_url(f"cmd-{user}")
            )
        )

    async def action(self, payload: dict[str, Any]) -> tuple[int, Any]:
        return await self.send(self.requests.interactivity(payload))

    async def submit(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str = JANE
    ) -> tuple[int, Any]:
        payload = self.requests.view_submission(user_id=user, view=view, values=values)
        return await self.send(self.requests.interactivity(payload))

    async def opened_view(self, callback_id: str, *, after: int = 0) -> dict[str, Any]:
        def newer(call: Call) -> bool:
            return any(call is later for later in self.slack.calls[after:])

        call = await self.slack.wait_for(
            "views.open", lambda c: _view(c).get("callback_id") == callback_id and newer(c)
        )
        view_id = _opened_view_id(self.slack, call)
        return self.slack.views[view_id]

    async def dm_update(self, predicate: Callable[[str], bool]) -> Call:
        """The status message in the user's DM, once its text satisfies ``predicate``."""
        return await self.slack.wait_for(
            "chat.update", lambda c: predicate(str(c.params.get("text", "")))
        )


async def seed_destinations(
    harness: Harness,
    names: list[str],
    *,
    user: str = JANE,
    to: str = JANE_LOGIN,
) -> list[str]:
    """Many destinations at once, stored the way the setup modal stores them (sealed
    password included), for tests about sizes no one would type through the modal."""
    services = harness.app.services
    owner = Owner(team_id=harness.requests.team_id, user_id=user)
    made = []
    async with transaction(services.database) as db:
        for name in names:
            destination_id = new_id()
            sealed = services.box.seal(ASP, context=password_context(destination_id))
            fields = DestinationFields(
                name=name,
                smtp_host="smtp.mail.me.com",
                smtp_port=harness.smtp.submission_port,
                security=Security.STARTTLS,
                username=JANE_LOGIN,
                from_address=JANE_LOGIN,
                to_addresses=to,
            )
            await destinations.create_destination(
                db=db,
                owner=owner,
                fields=fields,
                destination_id=destination_id,
                secret_key_id=sealed.key_id,
                secret_ciphertext=sealed.ciphertext,
            )
            made.append(destination_id)
    return made


def _view(call: Call) -> dict[str, Any]:
    view = call.params.get("view")
    return view if isinstance(view, dict) else {}


def _opened_view_id(slack: SlackStandIn, call: Call) -> str:
    # The stand-in keeps every opened view; the newest one with that callback is ours.
    wanted = _view(call).get("callback_id")
    matches = [vid for vid, v in slack.views.items() if v.get("callback_id") == wanted]
    return matches[-1]


def form_values(
    *,
    name: str = "iCloud",
    host: str = "smtp.mail.me.com",
    port: int | str = 587,
    security: str = "starttls",
    username: str = JANE_LOGIN,
    password: str | None = ASP,
    from_address: str | None = None,
    to: str = "jane@icloud.com",
    screenshot: str = "inline",
) -> dict[str, dict[str, Any]]:
    """``view.state.values`` as Slack sends them for the destination form."""

    def text(value: str | None) -> dict[str, Any]:
        return {ids.VALUE: {"type": "plain_text_input", "value": value}}

    def select(value: str) -> dict[str, Any]:
        return {
            ids.VALUE: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
            }
        }

    return {
        ids.BLOCK_NAME: text(name),
        ids.BLOCK_HOST: text(host),
        ids.BLOCK_PORT: text(str(port)),
        ids.BLOCK_SECURITY: select(security),
        ids.BLOCK_USERNAME: text(username),
        ids.BLOCK_PASSWORD: text(password),
        ids.BLOCK_FROM: text(from_address),
        ids.BLOCK_TO: text(to),
        ids.BLOCK_SCREENSHOT: select(screenshot),
    }


@asynccontextmanager
async def running_app(
    settings: Settings, ca: trustme.CA
) -> AsyncIterator[tuple[XenoceptApp, TestClient[Any, Any]]]:
    """The app built from ``settings``, started, with an HTTP client in front of it."""
    app = create_app(
        settings,
        resolver=loopback_resolver({"smtp.mail.me.com": "127.0.0.1"}),
        tls_context=trusting(ca),
    )
    await app.start()
    http = start_server(app)
    await http.start_server()
    try:
        yield app, http
    finally:
        await http.close()
        await app.stop()


def start_server(app: XenoceptApp) -> TestClient[Any, Any]:
    return TestClient(TestServer(app.web_app()))
