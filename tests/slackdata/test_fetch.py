"""fetch_conversation against the local Slack Web API stand-in (no mocks of our code)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import advice
from bot.errors import SlackDataError
from bot.render.model import Conversation
from bot.render.mrkdwn import to_plain
from bot.render.request import SendRequest
from bot.slackdata import files
from bot.slackdata.fetch import fetch_conversation
from bot.slackdata.users import People
from tests.support.harness import BOB, JANE
from tests.support.slack_standin import SlackStandIn

BUDGET = 10_000_000
T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )


class Recorder:
    """A tiny web server that only records what reaches it."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, request.headers.get("Authorization")))
        return web.Response(body=b"stolen", content_type="application/octet-stream")


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    found = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    found.url = f"http://{host}:{port}"
    yield found
    await runner.cleanup()


def thread(
    n: int, channel: str = "C1", users: tuple[str, ...] = (JANE, BOB)
) -> list[dict[str, Any]]:
    parent_ts = f"{T0}.000100"
    messages: list[dict[str, Any]] = [
        {
            "type": "message",
            "user": users[0],
            "text": "parent",
            "ts": parent_ts,
            "thread_ts": parent_ts,
            "reply_count": n - 1,
            "reply_users": list(users[1:]),
        }
    ]
    for i in range(1, n):
        messages.append(
            {
                "type": "message",
                "user": users[i % len(users)],
                "text": f"reply {i}",
                "ts": f"{T0 + i}.000{i % 1000:03d}",
                "thread_ts": parent_ts,
                "parent_user_id": users[0],
            }
        )
    return messages


def request_for(
    messages: list[dict[str, Any]],
    *,
    channel: str = "C1",
    scope: str = "thread",
    channel_name: str | None = "incidents",
    index: int = 0,
) -> SendRequest:
    message = messages[index]
    return SendRequest(
        channel_id=channel,
        channel_name=channel_name,
        message_ts=message["ts"],
        thread_ts=message.get("thread_ts"),
        scope=scope,  # type: ignore[arg-type]
        subject="",
        note=None,
        message=message,
    )


async def fetch(
    client: AsyncWebClient,
    slack: SlackStandIn,
    request: SendRequest,
    *,
    viewer: str = JANE,
    budget: int = BUDGET,
) -> Conversation:
    people = People(client)
    person = await people.get(viewer)
    return await fetch_conversation(
        client=client,
        request=request,
        viewer=person,
        people=people,
        file_host=files.file_host(slack.api_url),
        size_budget=budget,
    )


# ---------------------------------------------------------------- history


async def test_long_thread_arrives_complete_in_order(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    slack.add_user("U0CAROL", name="carol", display_name="Carol", tz="Asia/Tokyo")
    messages = thread(250, users=(JANE, BOB, "U0CAROL"))
    served = [*messages[:200], messages[199], *messages[200:]]  # a repeat across the page edge
    slack.add_thread("C1", served)
    conversation = await fetch(client, slack, request_for(messages, index=7))

    assert [m.ts for m in conversation.messages] == [m["ts"] for m in messages]
    assert [m.text for m in conversation.messages][:3] == ["parent", "reply 1", "reply 2"]
    assert [m.author for m in conversation.messages][:3] == ["Jane Doe", "Bob", "Carol"]
    replies = slack.calls_to("conversations.replies")
    assert len(replies) == 2
    assert all(call.params["limit"] == "200" for call in replies)
    assert replies[0].params["ts"] == messages[0]["ts"] and replies[1].params["cursor"]
    looked_up = [call.params["user"] for call in slack.calls_to("users.info")]
    assert sorted(looked_up) == sorted([JANE, BOB, "U0CAROL"])
    assert conversation.title == "#incidents" and conversation.notices == ()


async def test_rate_limit_on_first_call_is_retried(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    messages = thread(3)
    slack.add_thread("C1", messages)
    slack.rate_limit_next("conversations.replies", retry_after=0)
    conversation = await fetch(client, slack, request_for(messages))
    assert len(conversation.messages) == 3
    assert len(slack.calls_to("conversations.replies")) == 2


@pytest.mark.parametrize(
    "error", ["not_in_channel", "channel_not_found", "missing_scope", "thread_not_found"]
)
async def test_no_history_access_is_explained(
    slack: SlackStandIn,
    client: AsyncWebClient,
    error: str,
) -> None:
    messages = thread(3)
    slack.add_thread("C1", messages)
    slack.fail_next("conversations.replies", error)
    with pytest.raises(SlackDataError) as raised:
        await fetch(client, slack, request_for(messages))
    assert raised.value.error == error and raised.value.method == "conversations.replies"
    note = advice.for_error(raised.value)
    assert "/invite @Xenocept" in note.fixes[0] and "send only this message" in note.fixes[0]


async def test_bot_not_in_channel(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.add_channel("C2", name="secret", bot_is_member=False)
    messages = thread(2, channel="C2")
    slack.add_thread("C2", messages)
    with pytest.raises(SlackDataError) as raised:
        await fetch(client, slack, request_for(messages, channel="C2"))
    assert raised.value.error == "not_in_channel"


async def test_dm_between_two_people_says_it_can_never_be_read(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    messages = thread(2)
    with pytest.raises(SlackDataError) as raised:  # the stand-in does not know D0SECRET
        await fetch(
            client, slack, request_for(messages, channel="D0SECRET", channel_name="directmessage")
        )
    assert raised.value.error == "channel_not_found"
    note = advice.for_error(raised.value)
    assert "can never read" in note.fixes[0] and "/invite" not in note.fixes[0]


async def test_other_slack_errors_keep_neutral_advice() -> None:
    note = advice.for_error(SlackDataError(error="ratelimited", method="conversations.replies"))
    assert note.headline == "Slack did not give us the conversation"
    assert note.fixes == ("Try again in a minute.",)


async def test_message_scope_needs_no_history(slack: SlackStandIn, client: AsyncWebClient) -> None:
    messages = thread(5)
    slack.add_channel("C2", name="secret", bot_is_member=False)
    conversation = await fetch(
        client,
        slack,
        request_for(messages, channel="C2", channel_name="secret", scope="message", index=3),
    )
    assert [m.text for m in conversation.messages] == ["reply 3"]
    assert slack.calls_to("conversations.replies") == []
    assert conversation.title == "#secret"


async def test_unthreaded_message_needs_no_history(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    message = {"type": "message", "user": BOB, "text": "alone", "ts": f"{T0}.000100"}
    conversation = await fetch(client, slack, request_for([message]))
    assert [m.author for m in conversation.messages] == ["Bob"]
    assert slack.calls_to("conversations.replies") == []


# ---------------------------------------------------------------- names


async def test_bot_messages_are_named_by_their_bot(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    slack.add_user("U0DEPLOY", name="deploybot", display_name="Deploy Bot", is_bot=True)
    parent = {
        "type": "message",
        "user": JANE,
        "text": "ship it",
        "ts": f"{T0}.000100",
        "thread_ts": f"{T0}.000100",
        "reply_count": 3,
    }
    replies = [
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B1",
            "username": "CI",
            "text": "build green",
            "ts": f"{T0 + 1}.000100",
            "thread_ts": parent["ts"],
        },
        {
            "type": "message",
            "bot_id": "B2",
            "user": "U0PAGER",
            "text": "paged",
            "bot_profile": {"id": "B2", "name": "PagerDuty"},
            "ts": f"{T0 + 2}.000100",
            "thread_ts": parent["ts"],
        },
        {
            "type": "message",
            "bot_id": "B3",
            "user": "U0DEPLOY",
            "text": "deployed",
            "ts": f"{T0 + 3}.000100",
            "thread_ts": parent["ts"],
        },
    ]
    slack.add_thread("C1", [parent, *replies])
    conversation = await fetch(client, slack, request_for([parent]))
    authors = [(m.author, m.author_is_bot) for m in conversation.messages]
    assert authors == [("Jane Doe", False), ("CI", True), ("PagerDuty", True), ("Deploy Bot", True)]
    looked_up = {call.params["user"] for call in slack.calls_to("users.info")}
    assert looked_up == {JANE, "U0DEPLOY"}  # bots with a name of their own need no lookup


async def test_mentions_are_resolved_once_each(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.add_channel("C0OPS", name="ops")
    text = (
        "<@U0BOB> and <@U0BOB>: see <#C0OPS> and <#C0OPS>, <#C0KNOWN|known>, "
        "<#C0GONE>, <!subteam^S0ONCALL|@oncall> and <@U0NOBODY>"
    )
    parent = {
        "type": "message",
        "user": JANE,
        "text": text,
        "ts": f"{T0}.000100",
        "attachments": [{"text": "cc <@U0CAROL>", "fallback": "cc"}],
    }
    slack.add_user("U0CAROL", name="carol", display_name="Carol")
    conversation = await fetch(client, slack, request_for([parent], scope="message"))

    directory = conversation.directory
    assert directory.users == {JANE: "Jane Doe", BOB: "Bob", "U0CAROL": "Carol"}
    assert directory.channels == {"C0OPS": "ops"}
    assert directory.usergroups == {"S0ONCALL": "oncall"}
    assert to_plain(conversation.messages[0].text, directory) == (
        "@Bob and @Bob: see #ops and #ops, #known, #C0GONE, @oncall and @U0NOBODY"
    )
    info_calls = [call.params["channel"] for call in slack.calls_to("conversations.info")]
    assert sorted(info_calls) == ["C0GONE", "C0OPS"]
    users = [call.params["user"] for call in slack.calls_to("users.info")]
    assert sorted(users) == sorted([JANE, BOB, "U0CAROL", "U0NOBODY"])
    attachment = conversation.messages[0].attachments[0]
    assert (attachment.text, attachment.fallback, attachment.title) == ("cc <@U0CAROL>", "cc", "")


async def test_titles_for_dms_group_dms_and_unnamed_channels(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    slack.add_channel("D0JB", name="", is_im=True, im_user=BOB)
    slack.add_channel("G0MP", name="mpdm-jane--bob-1", is_mpim=True)
    slack.add_channel("C0ENG", name="engineering")
    only_jane = {"type": "message", "user": JANE, "text": "hi", "ts": f"{T0}.000100"}

    async def title(channel: str, name: str | None) -> str:
        request = request_for([only_jane], channel=channel, channel_name=name, scope="message")
        return (await fetch(client, slack, request)).title

    assert await title("D0JB", "directmessage") == "a direct message with Bob"
    assert await title("G0MP", "mpdm-jane--bob-1") == "a group DM"
    assert await title("C0ENG", None) == "#engineering"
    assert await title("G0UNKNOWN", "privategroup") == "a private channel"


# ---------------------------------------------------------------- times and links


async def test_times_are_in_the_viewers_time_zone(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    message = {"type": "message", "user": BOB, "text": "x", "ts": f"{T0}.000100"}
    request = request_for([message], scope="message")
    berlin = await fetch(client, slack, request, viewer=JANE)
    new_york = await fetch(client, slack, request, viewer=BOB)
    slack.add_user("U0MARS", name="mars", tz="Mars/Olympus_Mons")
    nowhere = await fetch(client, slack, request, viewer="U0MARS")

    stamp = "%Y-%m-%d %H:%M:%S.%f %Z"
    assert berlin.time_zone == "Europe/Berlin"
    assert berlin.messages[0].posted_at.strftime(stamp) == "2023-11-14 23:13:20.000100 CET"
    assert new_york.time_zone == "America/New_York"
    assert new_york.messages[0].posted_at.strftime(stamp) == "2023-11-14 17:13:20.000100 EST"
    assert nowhere.time_zone == "UTC"
    assert nowhere.messages[0].posted_at.strftime(stamp) == "2023-11-14 22:13:20.000100 UTC"


async def test_permalinks_come_from_one_call(slack: SlackStandIn, client: AsyncWebClient) -> None:
    messages = thread(6)
    slack.add_thread("C1", messages)
    conversation = await fetch(client, slack, request_for(messages, index=4))
    assert len(slack.calls_to("chat.getPermalink")) == 1

    expected = [
        (await client.chat_getPermalink(channel="C1", message_ts=m["ts"]))["permalink"]
        for m in messages
    ]
    assert [m.permalink for m in conversation.messages] == expected
    assert conversation.permalink == expected[0]
    assert "?thread_ts=" not in expected[0] and f"thread_ts={messages[0]['ts']}" in expected[1]


async def test_refused_permalink_is_not_fatal(slack: SlackStandIn, client: AsyncWebClient) -> None:
    messages = thread(2)
    slack.add_thread("C1", messages)
    slack.fail_next("chat.getPermalink", "channel_not_found")
    conversation = await fetch(client, slack, request_for(messages))
    assert conversation.permalink is None
    assert [m.permalink for m in conversation.messages] == [None, None]


# ---------------------------------------------------------------- files


async def test_private_files_are_downloaded_with_the_bot_token(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    content = b"%PDF-1.4 quarterly numbers"
    file = slack.add_file("F0PDF", "report.pdf", content, "application/pdf")
    message = {
        "type": "message",
        "user": JANE,
        "text": "numbers",
        "ts": f"{T0}.000100",
        "files": [file],
    }
    conversation = await fetch(client, slack, request_for([message], scope="message"))

    item = conversation.messages[0].files[0]
    assert (item.file_id, item.name, item.mimetype, item.size) == (
        "F0PDF",
        "report.pdf",
        "application/pdf",
        len(content),
    )
    assert item.content == content and item.permalink == file["permalink"]
    assert slack.file_downloads == [
        ("/files-pri/T111-F0PDF/download/report.pdf", f"Bearer {slack.bot_token}")
    ]
    assert conversation.notices == ()


async def test_files_on_other_hosts_never_get_the_token(
    slack: SlackStandIn,
    client: AsyncWebClient,
    recorder: Recorder,
) -> None:
    same_host_other_port = {
        "id": "F0A",
        "name": "a.bin",
        "mimetype": "application/zip",
        "size": 6,
        "permalink": "https://example.slack.com/files/a",
        "url_private_download": f"{recorder.url}/a.bin",
        "url_private": f"{recorder.url}/a.bin",
    }
    evil = {
        "id": "F0B",
        "name": "b.png",
        "mimetype": "image/png",
        "size": 6,
        "permalink": "https://example.slack.com/files/b",
        "url_private_download": "https://evil.example/x",
    }
    message = {
        "type": "message",
        "user": JANE,
        "text": "look",
        "ts": f"{T0}.000100",
        "files": [same_host_other_port, evil],
    }
    conversation = await fetch(client, slack, request_for([message], scope="message"))

    assert recorder.requests == [] and slack.file_downloads == []
    items = conversation.messages[0].files
    assert [(i.name, i.content, i.permalink) for i in items] == [
        ("a.bin", None, "https://example.slack.com/files/a"),
        ("b.png", None, "https://example.slack.com/files/b"),
    ]
    assert conversation.notices == (
        "2 files could not be downloaded from Slack and are linked, not attached: a.bin, b.png.",
    )


async def test_downloads_stop_at_the_size_budget(
    slack: SlackStandIn,
    client: AsyncWebClient,
) -> None:
    first = slack.add_file("F01", "one.txt", b"1" * 600, "text/plain")
    second = slack.add_file("F02", "two.txt", b"2" * 600, "text/plain")
    third = slack.add_file("F03", "three.txt", b"3" * 300, "text/plain")
    message = {
        "type": "message",
        "user": JANE,
        "text": "files",
        "ts": f"{T0}.000100",
        "files": [first, second, third],
    }
    conversation = await fetch(client, slack, request_for([message], scope="message"), budget=1000)
    contents = [f.content for f in conversation.messages[0].files]
    assert contents == [b"1" * 600, None, b"3" * 300]
    assert [path for path, _ in slack.file_downloads] == [
        "/files-pri/T111-F01/download/one.txt",
        "/files-pri/T111-F03/download/three.txt",
    ]


async def test_download_refuses_more_than_max_bytes(slack: SlackStandIn) -> None:
    file = slack.add_file("F0BIG", "big.bin", b"x" * 5000, "application/octet-stream")
    host = files.file_host(slack.api_url)
    async with aiohttp.ClientSession() as session:
        small = await files.download(
            url=file["url_private_download"],
            token=slack.bot_token,
            allowed_host=host,
            max_bytes=4999,
            session=session,
        )
        exact = await files.download(
            url=file["url_private_download"],
            token=slack.bot_token,
            allowed_host=host,
            max_bytes=5000,
            session=session,
        )
        wrong = await files.download(
            url=file["url_private_download"],
            token="xoxb-wrong",
            allowed_host=host,
            max_bytes=5000,
            session=session,
        )
    assert small is None and exact == b"x" * 5000
    assert wrong is None  # Slack refuses a wrong token


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("https://files.slack.com/files-pri/T1-F1/x.png", "files.slack.com", True),
        ("https://files.slack.com:443/files-pri/T1-F1/x.png", "files.slack.com", True),
        ("http://files.slack.com/files-pri/T1-F1/x.png", "files.slack.com", False),
        ("https://files.slack.com.evil.example/x.png", "files.slack.com", False),
        ("https://evil.example/x", "files.slack.com", False),
        ("https://files.slack.com@evil.example/x", "files.slack.com", False),
        ("https://user@files.slack.com/x", "files.slack.com", False),
        ("https://files.slack.com:8443/x", "files.slack.com", False),
        ("ftp://files.slack.com/x", "files.slack.com", False),
        ("http://127.0.0.1:5000/files-pri/x", "127.0.0.1:5000", True),
        ("http://127.0.0.1:5001/files-pri/x", "127.0.0.1:5000", False),
        ("http://10.0.0.5:5000/files-pri/x", "10.0.0.5:5000", False),
        ("https://10.0.0.5:5000/files-pri/x", "10.0.0.5:5000", True),
    ],
)
def test_token_goes_only_to_the_allowed_host(url: str, allowed: str, ok: bool) -> None:
    assert files.may_send_token(url, allowed) is ok


def test_file_host_follows_slack_api_url() -> None:
    assert files.file_host(None) == "files.slack.com"
    assert files.file_host("https://slack.com/api/") == "files.slack.com"
    assert files.file_host("http://127.0.0.1:8123/api/") == "127.0.0.1:8123"
    assert files.file_host("https://slack.example.org/api/") == "slack.example.org"
