"""Many workspaces through Slack's OAuth install flow, end to end on each engine.

`xenocept run --http` with SLACK_CLIENT_ID/SECRET and no bot token: /slack/install issues
a state (in our database, and in the browser's cookie), /slack/oauth_redirect checks both,
exchanges the code at the Slack stand-in's oauth.v2.access and keeps the bot token sealed.
Each workspace then works with its own token and sees only its own destinations; an
uninstall deletes that workspace's token and destinations.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlmodel import select

from bot import ids
from bot.app import build_secret_box, create_app
from bot.check import run_checks
from bot.crypto import new_key
from bot.keys import rotate_keys
from bot.oauth import InstallationStore
from bot.settings import RunMode, Settings
from storage import installations
from storage.db import transaction
from storage.models import Destination
from tests.conftest import SIGNING_SECRET, make_settings
from tests.listeners.test_destination_lifecycle import add_icloud, open_form
from tests.support.harness import (
    BOB,
    JANE,
    Harness,
    form_values,
    loopback_resolver,
    start_server,
    trusting,
)
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import Call, SlackStandIn

COOKIE = "slack-app-oauth-state"


@dataclass
class Workspaces:
    first: Harness  # T1, where Jane installs the app
    second: Harness  # T2, where Bob installs it
    http: TestClient[Any, Any]
    slack: SlackStandIn
    settings: Settings


@pytest.fixture
def settings(tmp_path: Path, slack: SlackStandIn, database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        slack,
        SLACK_BOT_TOKEN="",
        XENOCEPT_DATABASE_URL=database_url,
        SLACK_CLIENT_ID=slack.client_id,
        SLACK_CLIENT_SECRET=slack.client_secret,
    )


@pytest.fixture
async def workspaces(
    settings: Settings,
    slack: SlackStandIn,
    icloud: ICloudLikeServer,
    ca: trustme.CA,
    tmp_path: Path,
) -> AsyncIterator[Workspaces]:
    settings.require(RunMode.HTTP)  # what `xenocept run --http` checks first
    assert settings.installs_through_oauth
    app = create_app(
        settings,
        resolver=loopback_resolver({"smtp.mail.me.com": "127.0.0.1"}),
        tls_context=trusting(ca),
    )
    await app.start()
    http = start_server(app)
    await http.start_server()
    first = Harness(
        app=app,
        http=http,
        slack=slack,
        smtp=icloud,
        requests=SlackRequests(SIGNING_SECRET, team_id="T1"),
        database_path=tmp_path / "data" / "xenocept.db",
    )
    try:
        yield Workspaces(
            first=first,
            second=replace(first, requests=SlackRequests(SIGNING_SECRET, team_id="T2")),
            http=http,
            slack=slack,
            settings=settings,
        )
    finally:
        await http.close()
        await app.stop()


async def begin_install(http: TestClient[Any, Any]) -> tuple[str, str]:
    """GET /slack/install: the "Add to Slack" page; returns (state in the link, cookie)."""
    response = await http.get("/slack/install")
    assert response.status == 200
    page = await response.text()
    link = re.search(r'href="([^"]+/oauth/v2/authorize\?[^"]+)"', page)
    assert link is not None, page
    state = re.search(r"state=([^&]+)", link.group(1))
    assert state is not None and "scope=commands" in link.group(1).replace("%2C", ",")
    cookie = response.cookies[COOKIE].value
    return state.group(1), cookie


async def finish_install(
    http: TestClient[Any, Any], *, code: str, state: str, cookie: str | None
) -> tuple[int, str]:
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie is not None else {}
    response = await http.get(f"/slack/oauth_redirect?code={code}&state={state}", headers=headers)
    return response.status, await response.text()


async def install(ws: Workspaces, team_id: str, installer: str) -> str:
    token = ws.slack.add_oauth_code(
        f"code-{team_id}", team_id=team_id, team_name=f"Team {team_id}", installer=installer
    )
    state, cookie = await begin_install(ws.http)
    status, page = await finish_install(ws.http, code=f"code-{team_id}", state=state, cookie=cookie)
    assert (status, "Thank you!" in page) == (200, True), page
    return token


async def stored(ws: Workspaces) -> tuple[list[Any], list[Destination]]:
    async with transaction(ws.first.app.services.database) as db:
        rows = list(await installations.all_installations_for_operator(db=db))
        mine = list((await db.exec(select(Destination))).all())
    return rows, mine


def made_with(call: Call, slack: SlackStandIn) -> str:
    return slack.token_of(call)


async def test_two_workspaces_install_and_stay_apart(workspaces: Workspaces) -> None:
    ws = workspaces
    first_token = await install(ws, "T1", JANE)
    second_token = await install(ws, "T2", BOB)
    rows, _ = await stored(ws)
    assert sorted((row.team_id, row.installer_user_id) for row in rows) == [
        ("T1", JANE),
        ("T2", BOB),
    ]
    for row in rows:  # sealed at rest, like SMTP passwords
        assert first_token.encode() not in row.token_ciphertext
        assert second_token.encode() not in row.token_ciphertext
    if ws.settings.resolved_database_url().startswith("sqlite"):
        for path in ws.first.database_path.parent.glob("xenocept.db*"):
            assert first_token.encode() not in path.read_bytes()

    # Jane, in T1, adds a destination; everything after the ack uses T1's own token.
    assert await add_icloud(ws.first, name="Jane Private") == (200, "")
    await ws.first.smtp.wait_for_messages(1)
    report = await ws.first.dm_update(lambda text: "works" in text)
    assert made_with(report, ws.slack) == first_token
    opened = ws.slack.calls_to("views.open")[-1]
    assert made_with(opened, ws.slack) == first_token
    _, [jane_destination] = await stored(ws)
    assert jane_destination.team_id == "T1"

    # Bob, in T2, sees none of it, and cannot use it by id.
    for user in (BOB, JANE):  # not even the same user id acting in the other workspace
        status, body = await ws.second.command("list", user=user)
        assert status == 200 and "Jane Private" not in str(body)
        assert "no email destinations" in str(body)
    click = ws.second.requests.block_actions(
        user_id=BOB,
        action_id=ids.ACTION_TEST_DESTINATION,
        value=jane_destination.id,
        response_url=ws.slack.response_url("bob"),
    )
    assert (await ws.second.action(click))[0] == 200
    refusal = await ws.slack.wait_for_response_url(
        lambda body: "not yours" in str(body.get("text"))
    )
    assert refusal is not None
    assert len(ws.first.smtp.received) == 1  # nothing was sent for Bob


async def test_a_bad_state_installs_nothing(workspaces: Workspaces) -> None:
    ws = workspaces
    ws.slack.add_oauth_code("code-T9", team_id="T9", team_name="Team T9", installer=JANE)
    state, cookie = await begin_install(ws.http)
    forged = "forged-state-not-issued-by-us"
    attempts = [
        (forged, forged),  # browser and query agree, but the state was never issued
        (state, None),  # no cookie: another browser than the one that started
        (state, "other-value"),  # the cookie of a different install
    ]
    for query_state, browser_cookie in attempts:
        status, page = await finish_install(
            ws.http, code="code-T9", state=query_state, cookie=browser_cookie
        )
        assert status in (400, 401), (query_state, browser_cookie, status)
        assert "Thank you!" not in page
    assert ws.slack.calls_to("oauth.v2.access") == []
    assert (await stored(ws))[0] == []

    status, _ = await finish_install(ws.http, code="code-T9", state=state, cookie=cookie)
    assert status == 200  # the genuine one still works, once
    status, _ = await finish_install(ws.http, code="code-T9", state=state, cookie=cookie)
    assert status == 401  # a state is good for one install
    assert [row.team_id for row in (await stored(ws))[0]] == ["T9"]


async def test_uninstall_deletes_that_workspaces_token_and_destinations(
    workspaces: Workspaces,
) -> None:
    ws = workspaces
    await install(ws, "T1", JANE)
    await install(ws, "T2", BOB)
    assert await add_icloud(ws.first) == (200, "")
    await ws.first.smtp.wait_for_messages(1)
    view = await open_form(ws.second, user=BOB)
    assert await ws.second.submit(
        view,
        form_values(
            port=ws.first.smtp.submission_port,
            username="bob@icloud.com",
            password="qrst-uvwx-yzab-cdef",
            to="bob@icloud.com",
        ),
        user=BOB,
    ) == (200, "")
    await ws.first.smtp.wait_for_messages(2)

    status, _ = await ws.first.send(ws.first.requests.event({"type": "app_uninstalled"}))
    assert status == 200  # acked at once; the listener runs right after
    rows, left = await settled(ws, lambda rows, _: len(rows) < 2)
    assert [row.team_id for row in rows] == ["T2"]
    assert [(d.team_id, d.user_id) for d in left] == [("T2", BOB)]

    status, _ = await ws.second.send(
        ws.second.requests.event(
            {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}}
        )
    )
    assert status == 200
    assert await settled(ws, lambda rows, _: not rows) == ([], [])


async def settled(ws: Workspaces, done: Any) -> tuple[list[Any], list[Destination]]:
    for _ in range(100):
        found = await stored(ws)
        if done(*found):
            return found
        await asyncio.sleep(0.05)
    return await stored(ws)


async def test_check_calls_auth_test_with_each_workspaces_token(workspaces: Workspaces) -> None:
    ws = workspaces
    [settings_check, *_, slack_check] = await run_checks(ws.settings, RunMode.HTTP)
    assert settings_check.ok and slack_check.ok and "no workspace yet" in slack_check.detail
    await install(ws, "T1", JANE)
    revoked = await install(ws, "T2", BOB)
    assert (await run_checks(ws.settings, RunMode.HTTP))[-1].ok
    del ws.slack.workspaces[revoked]  # Slack no longer knows T2's token
    slack_check = (await run_checks(ws.settings, RunMode.HTTP))[-1]
    assert not slack_check.ok
    assert "1 of 2" in slack_check.detail and "Team T2: invalid_auth" in slack_check.detail


async def test_key_rotation_reseals_the_bot_tokens(workspaces: Workspaces) -> None:
    ws = workspaces
    token = await install(ws, "T1", JANE)
    old = ws.settings.secret_key
    assert old is not None
    newest = new_key()
    both = ws.settings.model_copy(
        update={"secret_key": SecretStr(f"{newest},{old.get_secret_value()}")}
    )
    assert await rotate_keys(both) == 1
    only_new = ws.settings.model_copy(update={"secret_key": SecretStr(newest)})
    store = InstallationStore(
        database=ws.first.app.services.database, box=build_secret_box(only_new)
    )
    found = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == token


async def test_an_uninstall_naming_no_installation_deletes_nothing(
    workspaces: Workspaces,
) -> None:
    """An org-wide uninstall without an organisation id once deleted every non-Grid
    workspace's destinations: only the exact installation named may go."""
    ws = workspaces
    await install(ws, "T1", JANE)
    assert await add_icloud(ws.first) == (200, "")
    await ws.first.smtp.wait_for_messages(1)
    forged = json.loads(ws.first.requests.event({"type": "app_uninstalled"}).body)
    forged["team_id"] = "T3"
    forged["authorizations"][0].update(team_id="T3", is_enterprise_install=True)
    forged["is_enterprise_install"] = True
    signed = ws.first.requests.sign(json.dumps(forged), "application/json")
    status, _ = await ws.first.send(signed)
    assert status in (200, 400)
    await ws.first.app.listeners.finish(grace=5)
    rows, left = await stored(ws)
    assert [row.team_id for row in rows] == ["T1"] and len(left) == 1
