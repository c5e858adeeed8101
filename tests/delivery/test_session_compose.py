"""SlackSessionComposer end to end: stand-in Slack → fetched conversation → parsed email."""

from __future__ import annotations

import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from bot.app import create_app
from bot.delivery.compose import Composed
from bot.delivery.session_compose import SlackSessionComposer, thread_reference
from bot.errors import SlackDataError
from bot.render.request import SendRequest
from bot.services import Services
from bot.settings import Settings
from storage.models import Delivery, DeliveryKind, DestinationPublic
from tests.support.harness import BOB, JANE, JANE_ALIAS
from tests.support.slack_standin import SlackStandIn

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC = 23:13 in Berlin
PARENT_TS = f"{T0}.000100"
NOTE = "Please look at the second reply before Monday"


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    app = create_app(settings)
    try:
        yield app.services
    finally:
        await app.services.engine.dispose()


def destination() -> DestinationPublic:
    return DestinationPublic(
        id="dest1",
        team_id="T111",
        user_id=JANE,
        name="iCloud",
        smtp_host="smtp.mail.me.com",
        smtp_port=587,
        username="jane@icloud.com",
        from_address=JANE_ALIAS,
        to_addresses="jane@icloud.com",
    )


def delivery(request: SendRequest) -> Delivery:
    return Delivery(
        id="d1",
        team_id="T111",
        user_id=JANE,
        destination_id="dest1",
        destination_name="iCloud",
        kind=DeliveryKind.SESSION,
        request_json=request.dump(),
        message_id="<xenocept.d1@janedoe.example>",
    )


def incident_thread(slack: SlackStandIn) -> list[dict[str, Any]]:
    report = slack.add_file("F0PDF", "report.pdf", b"%PDF-1.4 numbers", "application/pdf")
    return [
        {
            "type": "message",
            "user": BOB,
            "ts": PARENT_TS,
            "thread_ts": PARENT_TS,
            "reply_count": 2,
            "text": "*Checkout is down* for <@U0JANE> &amp; others",
        },
        {
            "type": "message",
            "user": JANE,
            "ts": f"{T0 + 60}.000200",
            "thread_ts": PARENT_TS,
            "text": "Looking at it, see <#C0OPS> and the report",
            "files": [report],
        },
        {
            "type": "message",
            "bot_id": "B1",
            "subtype": "bot_message",
            "username": "Deployer",
            "ts": f"{T0 + 120}.000300",
            "thread_ts": PARENT_TS,
            "text": "Rolled back ~v42~",
        },
    ]


def send_request(
    message: dict[str, Any],
    *,
    channel: str = "C1",
    name: str = "incidents",
    scope: str = "thread",
    subject: str = "",
) -> SendRequest:
    return SendRequest(
        channel_id=channel,
        channel_name=name,
        message_ts=message["ts"],
        thread_ts=message.get("thread_ts"),
        scope=scope,  # type: ignore[arg-type]
        subject=subject,
        note=NOTE,
        message=message,
    )


def parse(composed: Composed) -> EmailMessage:
    raw = composed.message.as_bytes()
    return BytesParser(policy=email.policy.default).parsebytes(raw)


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return str(plain.get_content()), str(html.get_content())


async def test_thread_becomes_an_email(services: Services, slack: SlackStandIn) -> None:
    slack.add_channel("C0OPS", name="ops")
    messages = incident_thread(slack)
    slack.add_thread("C1", messages)
    request = send_request(messages[1], subject="Checkout outage")
    composed = await SlackSessionComposer(services).compose(delivery(request), destination())

    assert composed.summary == "3 messages from #incidents"
    parsed = parse(composed)
    assert parsed["Message-ID"] == "<xenocept.d1@janedoe.example>"
    assert parsed["Subject"] == "Checkout outage"
    assert parsed["From"].addresses[0].addr_spec == JANE_ALIAS
    assert thread_reference("T111", "C1", PARENT_TS) in str(parsed["References"])
    plain, html = bodies(parsed)
    for text in (plain, html):
        assert NOTE in text
        assert "Jane Doe" in text and "Bob" in text and "Deployer" in text
        assert "Checkout is down" in text and "#ops" in text and "23:13" in text
    assert "Checkout is down for @Jane Doe & others" in plain and "*Checkout" not in plain
    assert "<b>Checkout is down</b>" in html and "@Jane Doe</span> &amp; others" in html
    assert "Tue 14 Nov 2023, 23:13" in plain and "Tue 14 Nov 2023, 23:14" in plain
    assert "Deployer" in plain and "<s>v42</s>" in html
    assert (
        f"https://example.slack.com/archives/C1/p1700000060000200?thread_ts={PARENT_TS}&amp;cid=C1"
    ) in html
    assert "p1700000060000200" not in plain  # the plain part links the thread only
    assert "&amp;amp;" not in html
    attached = {part.get_filename(): part.get_content() for part in parsed.iter_attachments()}
    assert attached.get("report.pdf") == b"%PDF-1.4 numbers"
    assert slack.file_downloads == [
        ("/files-pri/T111-F0PDF/download/report.pdf", f"Bearer {slack.bot_token}")
    ]


async def test_default_subject_and_single_dm_message(
    services: Services,
    slack: SlackStandIn,
) -> None:
    slack.add_channel("D0JB", name="", is_im=True, im_user=BOB)
    message = {"type": "message", "user": BOB, "ts": PARENT_TS, "text": "lunch?"}
    request = send_request(message, channel="D0JB", name="directmessage", scope="message")
    composed = await SlackSessionComposer(services).compose(delivery(request), destination())

    assert composed.summary == "1 message from a direct message with Bob"
    assert parse(composed)["Subject"]
    assert slack.calls_to("conversations.replies") == []


async def test_not_in_channel_stops_compose(services: Services, slack: SlackStandIn) -> None:
    slack.add_channel("C2", name="secret", bot_is_member=False)
    messages = incident_thread(slack)
    slack.add_thread("C2", messages)
    request = send_request(messages[0], channel="C2", name="secret")
    with pytest.raises(SlackDataError) as raised:
        await SlackSessionComposer(services).compose(delivery(request), destination())
    assert raised.value.error == "not_in_channel"


def test_thread_reference_is_stable_and_safe() -> None:
    first = thread_reference("T111", "C1", PARENT_TS)
    assert first == thread_reference("T111", "C1", PARENT_TS)
    assert first == f"<thread.C1.{PARENT_TS}.T111@xenocept.invalid>"
    assert thread_reference("T111", "C1", f"{T0}.000200") != first
    hostile = thread_reference("T1>\r\nBcc: x@y", "C1", PARENT_TS)
    assert "\r" not in hostile and "\n" not in hostile and hostile.count(">") == 1
