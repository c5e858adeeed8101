"""Tests of the Slack stand-in and the signed-request builders themselves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from .slack_requests import SlackRequests
from .slack_standin import SlackStandIn

SECRET = "test-signing-secret"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


def _thread(n: int, ts0: int = 1_690_000_000) -> list[dict[str, Any]]:
    parent_ts = f"{ts0}.000100"
    msgs: list[dict[str, Any]] = [
        {
            "type": "message",
            "user": "U1",
            "text": "parent",
            "ts": parent_ts,
            "thread_ts": parent_ts,
            "reply_count": n - 1,
            "reply_users": ["U2"],
        }
    ]
    for i in range(1, n):
        msgs.append(
            {
                "type": "message",
                "user": "U2",
                "text": f"reply {i}",
                "ts": f"{ts0 + i}.000100",
                "thread_ts": parent_ts,
                "parent_user_id": "U1",
            }
        )
    return msgs


async def test_auth_test_and_invalid_auth(slack: SlackStandIn, client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert resp["user_id"] == "UBOT" and resp["bot_id"] == "BBOT" and resp["team_id"] == "T111"
    bad = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        await bad.chat_postMessage(channel="C1", text="hi")
    assert err.value.response["error"] == "invalid_auth"
    assert [c.method for c in slack.calls] == ["auth.test", "chat.postMessage"]
    assert slack.calls[1].headers["Authorization"] == "Bearer xoxb-wrong"


async def test_post_message_then_update(slack: SlackStandIn, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    first = await client.chat_postMessage(channel="C1", text="hi", blocks=blocks)
    second = await client.chat_postMessage(channel="U42", text="dm")
    assert first["channel"] == "C1" and second["channel"] == "DU42"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == blocks and first["message"]["bot_id"] == "BBOT"
    assert slack.calls_to("chat.postMessage")[0].params["blocks"] == blocks  # parsed JSON

    upd = await client.chat_update(channel="C1", ts=first["ts"], text="bye", blocks=[])
    assert upd["ts"] == first["ts"] and upd["message"]["text"] == "bye"
    assert slack.messages[("C1", first["ts"])]["text"] == "bye"
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"

    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert eph["message_ts"]
    opened = await client.conversations_open(users="U42")
    assert opened["channel"]["id"] == "DU42"


async def test_form_encoded_json_fields_are_parsed(slack: SlackStandIn) -> None:
    blocks = [{"type": "divider"}]
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            slack.api_url + "chat.postMessage",
            data={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)},
            headers={"Authorization": f"Bearer {slack.bot_token}"},
        ) as resp,
    ):
        assert (await resp.json())["ok"] is True
    assert slack.calls[-1].params["blocks"] == blocks


async def test_views_open_update_hash_conflict(slack: SlackStandIn, client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "cb",
        "private_metadata": "{}",
        "title": {"type": "plain_text", "text": "T"},
        "blocks": [],
    }
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="", view=view)
    assert err.value.response["error"] == "invalid_arguments"

    opened = (await client.views_open(trigger_id="111.222.t", view=view))["view"]
    assert opened["id"].startswith("V") and opened["root_view_id"] == opened["id"]
    assert opened["state"] == {"values": {}} and opened["callback_id"] == "cb"
    assert slack.calls_to("views.open")[-1].params["view"] == view

    updated = (
        await client.views_update(
            view_id=opened["id"], hash=opened["hash"], view={**view, "callback_id": "cb2"}
        )
    )["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert slack.views[opened["id"]]["callback_id"] == "cb2"
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    assert err.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id="VNOPE", view=view)
    assert err.value.response["error"] == "not_found"

    pushed = (await client.views_push(trigger_id="t2", view=view))["view"]
    assert pushed["root_view_id"] == opened["id"] and pushed["previous_view_id"] == opened["id"]
    home = (await client.views_publish(user_id="U1", view={"type": "home", "blocks": []}))["view"]
    assert slack.home_views["U1"]["id"] == home["id"]


async def test_replies_pagination(slack: SlackStandIn, client: AsyncWebClient) -> None:
    thread = _thread(250)
    slack.add_thread("C1", thread)
    collected: list[dict[str, Any]] = []
    first = await client.conversations_replies(channel="C1", ts=thread[0]["ts"], limit=100)
    async for page in first:
        collected.extend(page["messages"])
    assert collected == thread
    calls = slack.calls_to("conversations.replies")
    assert len(calls) == 3
    assert "cursor" not in calls[0].params and calls[1].params["cursor"]
    assert calls[2].params["limit"] == "100"

    single = await client.conversations_replies(channel="C1", ts=thread[5]["ts"])
    assert single["messages"] == [thread[5]] and single["has_more"] is False
    with pytest.raises(SlackApiError) as err:
        await client.conversations_replies(channel="C1", ts="1.000001")
    assert err.value.response["error"] == "thread_not_found"
    with pytest.raises(SlackApiError) as err:
        await client.conversations_replies(channel="CNOPE", ts=thread[0]["ts"])
    assert err.value.response["error"] == "channel_not_found"

    link = await client.chat_getPermalink(channel="C1", message_ts=thread[1]["ts"])
    assert link["permalink"] == (
        f"https://example.slack.com/archives/C1/p{thread[1]['ts'].replace('.', '')}"
        f"?thread_ts={thread[0]['ts']}&cid=C1"
    )


async def test_not_in_channel(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.add_channel("C2", name="secret", is_private=True, bot_is_member=False)
    slack.add_thread("C2", _thread(2))
    with pytest.raises(SlackApiError) as err:
        await client.conversations_replies(channel="C2", ts=_thread(2)[0]["ts"])
    assert err.value.response["error"] == "not_in_channel"
    info = await client.conversations_info(channel="C2")
    assert info["channel"]["is_private"] is True and info["channel"]["name"] == "secret"


async def test_users_info(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.add_user("U1", name="ada", display_name="Ada", real_name="Ada L", tz="Europe/Berlin")
    user = (await client.users_info(user="U1"))["user"]
    assert user["profile"]["display_name"] == "Ada" and user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] in (3600, 7200)
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


async def test_rate_limit_then_retry(slack: SlackStandIn) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=0)
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    resp = await client.chat_postMessage(channel="C1", text="hi")
    assert resp["ok"] is True
    assert len(slack.calls_to("chat.postMessage")) == 2

    slack.fail_next("chat.postMessage", "ratelimited", status=429, headers={"Retry-After": "7"})
    plain = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        await plain.chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


async def test_file_download_requires_token(slack: SlackStandIn) -> None:
    f = slack.add_file("F1", "shot.png", b"\x89PNG data", "image/png")
    assert f["url_private"] == f"{slack.base_url}/files-pri/T111-F1/shot.png"
    assert f["url_private_download"].endswith("/files-pri/T111-F1/download/shot.png")
    assert f["size"] == 9 and f["filetype"] == "png" and f["mode"] == "hosted"
    async with aiohttp.ClientSession() as session:
        async with session.get(f["url_private"]) as resp:
            assert resp.status == 403
            assert "<html" in (await resp.text()).lower()
        auth = {"Authorization": f"Bearer {slack.bot_token}"}
        async with session.get(f["url_private_download"], headers=auth) as resp:
            assert resp.status == 200 and resp.content_type == "image/png"
            assert await resp.read() == b"\x89PNG data"
    assert slack.file_downloads == [
        ("/files-pri/T111-F1/shot.png", None),
        ("/files-pri/T111-F1/download/shot.png", f"Bearer {slack.bot_token}"),
    ]


async def test_wait_for_future_call_and_timeout(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    waiter = asyncio.create_task(
        slack.wait_for("chat.postMessage", lambda c: c.params.get("text") == "second")
    )
    await asyncio.sleep(0)
    await client.chat_postMessage(channel="C1", text="first")
    assert not waiter.done()
    await client.chat_postMessage(channel="C1", text="second")
    call = await asyncio.wait_for(waiter, 2)
    assert call.params["text"] == "second"
    # already recorded calls resolve at once
    assert (await slack.wait_for("chat.postMessage")).params["text"] == "first"
    with pytest.raises(AssertionError, match=r"chat\.postMessage"):
        await slack.wait_for("views.open", timeout=0.05)


async def test_response_url(slack: SlackStandIn) -> None:
    waiter = asyncio.create_task(slack.wait_for_response_url(lambda b: b.get("text") == "done"))
    await asyncio.sleep(0)
    resp = await AsyncWebhookClient(slack.response_url("abc")).send(text="done")
    assert resp.status_code == 200 and resp.body == "ok"
    key, body = await asyncio.wait_for(waiter, 2)
    assert key == "abc" and body["text"] == "done"


def test_signed_requests_verify() -> None:
    now = 1_700_000_000.0
    reqs = SlackRequests(SECRET, clock=lambda: now)
    verifier = SignatureVerifier(SECRET, clock=type("C", (), {"now": lambda self: now})())
    slash = reqs.slash_command(user_id="U1", text="hello there", response_url="https://x/y")
    assert verifier.is_valid(
        slash.body, slash.headers["X-Slack-Request-Timestamp"], slash.headers["X-Slack-Signature"]
    )
    assert verifier.is_valid_request(slash.body, slash.headers)
    fields = dict(parse_qsl(slash.body))
    assert slash.body.startswith("token=verification_token&team_id=T111&team_domain=")
    assert fields["command"] == "/xenocept" and fields["text"] == "hello there"
    assert fields["api_app_id"] == "A111"
    assert slash.headers["Content-Type"] == "application/x-www-form-urlencoded"

    shortcut = reqs.global_shortcut(user_id="U1", callback_id="cb")
    inter = reqs.interactivity(shortcut)
    assert json.loads(dict(parse_qsl(inter.body))["payload"]) == shortcut
    assert verifier.is_valid_request(inter.body, inter.headers)

    ev = reqs.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, retry_num=1)
    assert ev.headers["X-Slack-Retry-Num"] == "1"
    assert json.loads(ev.body)["event_time"] == int(now)
    assert verifier.is_valid_request(ev.body, ev.headers)

    forged = reqs.sign(ev.body, "application/json", secret="wrong")
    stale = reqs.sign(ev.body, "application/json", timestamp=int(now) - 301)
    assert not verifier.is_valid_request(forged.body, forged.headers)
    assert not verifier.is_valid_request(stale.body, stale.headers)


async def test_bolt_accepts_signed_requests(slack: SlackStandIn) -> None:
    """End to end: a real AsyncApp behind aiohttp accepts what SlackRequests builds."""
    app = AsyncApp(
        signing_secret=SECRET, client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    )
    seen: list[str] = []

    @app.command("/xenocept")
    async def on_command(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        seen.append("command")
        await ack()
        await respond(text=f"got {command['text']}")

    @app.shortcut("send_thread")
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append(body["message"]["ts"])
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "send",
                "title": {"type": "plain_text", "text": "S"},
                "submit": {"type": "plain_text", "text": "Send"},
                "blocks": [],
            },
        )

    @app.view("send")
    async def on_submit(ack: AsyncAck, view: dict[str, Any]) -> None:
        seen.append(view["state"]["values"]["to"]["addr"]["value"])
        await ack(response_action="errors", errors={"to": "bad address"})

    @app.action("pick")
    async def on_pick(ack: AsyncAck, action: dict[str, Any]) -> None:
        seen.append(action["selected_option"]["value"])
        await ack()

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    reqs = SlackRequests(SECRET)
    started = time.monotonic()
    async with TestClient(TestServer(app.web_app())) as http:

        async def post(body: str, headers: dict[str, str]) -> aiohttp.ClientResponse:
            return await http.post("/slack/events", data=body, headers=headers)

        r = reqs.slash_command(user_id="U1", text="hi", response_url=slack.response_url())
        assert (await post(r.body, r.headers)).status == 200
        await slack.wait_for_response_url(lambda b: b.get("text") == "got hi")

        msg = _thread(1)[0]
        r = reqs.interactivity(
            reqs.message_shortcut(
                user_id="U1",
                callback_id="send_thread",
                channel_id="C1",
                channel_name="general",
                message=msg,
                response_url=slack.response_url("2"),
            )
        )
        assert (await post(r.body, r.headers)).status == 200
        opened = (await slack.wait_for("views.open")).params["trigger_id"]
        assert opened == "111.222.trigger"
        view = next(iter(slack.views.values()))

        r = reqs.interactivity(
            reqs.view_submission(
                user_id="U1",
                view=view,
                values={"to": {"addr": {"type": "plain_text_input", "value": "a@b"}}},
            )
        )
        resp = await post(r.body, r.headers)
        assert resp.status == 200
        assert await resp.json() == {"response_action": "errors", "errors": {"to": "bad address"}}

        r = reqs.interactivity(
            reqs.block_actions(
                user_id="U1", action_id="pick", selected_option_value="opt-2", view=view
            )
        )
        assert (await post(r.body, r.headers)).status == 200

        r = reqs.event(
            {
                "type": "app_home_opened",
                "user": "U1",
                "channel": "D1",
                "tab": "home",
                "event_ts": "1700000000.000100",
            }
        )
        assert (await post(r.body, r.headers)).status == 200
        await slack.wait_for("views.publish")

        forged = reqs.sign(r.body, "application/json", secret="nope")
        assert (await post(forged.body, forged.headers)).status == 401
    assert seen == ["command", msg["ts"], "a@b", "opt-2"]
    assert time.monotonic() - started < 3
