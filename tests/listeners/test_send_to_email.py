""" "Send to email" end to end, through signed HTTP requests exactly as Slack sends them.

message shortcut → the send modal (the views.open the Slack stand-in recorded) → the
view_submission of that modal → the email that arrived at the iCloud-like server and the
status message in the user's DM ("⏳ Sending…", then updated in place to the outcome).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import trustme

from bot import ids
from bot.advice import STALE_FORM
from bot.render.sample import png
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.harness import BOB, JANE, JANE_LOGIN, Harness, form_values, running_app
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.send_flow import (
    add_destination,
    bodies,
    by_message_id,
    delivery_row,
    modal_inputs,
    newest_delivery,
    open_send_modal,
    outcome,
    rows,
    send,
    send_values,
    sending_posts,
    status_texts,
)
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn

T0 = 1_700_000_000  # Tue 14 Nov 2023 22:13:20 UTC = 23:13 in Berlin (Jane's time zone)
CAROL = "U0CAROL"
INCIDENTS = "C0INC"
PERMALINK = "https://example.slack.com/archives/C0INC/p1700000000000100"
SENT = re.compile(r"✅ Sent (.+) to (.+) via \*(.+)\* \((\d+\.\d) s\)\.")


def ts(i: int) -> str:
    """The i-th message of a thread: one a minute, each with its own microseconds."""
    return f"{T0 + 60 * i}.{100 + i:06d}"


def reply_link(i: int) -> str:
    return (
        f"https://example.slack.com/archives/C0INC/p{ts(i).replace('.', '')}"
        f"?thread_ts={ts(0)}&cid=C0INC"
    )


def unstyled(html: str) -> str:
    """The HTML without inline styles: the structure a reader's client renders."""
    return re.sub(r' style="[^"]*"', "", html)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)


def tags_of(html: str) -> set[str]:
    parser = Tags()
    parser.feed(html)
    return parser.seen


def header_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    return head.split("\r\n")


def incident_thread(slack: SlackStandIn) -> list[dict[str, Any]]:
    """250 messages: a parent and 249 replies by three people (and a bot), with markup."""
    slack.add_user(CAROL, name="carol", real_name="Carol Kim", tz="Asia/Tokyo")
    slack.add_channel(INCIDENTS, name="incidents")
    slack.add_channel("C0OPS", name="ops")
    report = slack.add_file("F0PDF", "report.pdf", b"%PDF-1.4 numbers", "application/pdf")
    authors = (JANE, BOB, CAROL)
    thread: list[dict[str, Any]] = [
        {
            "type": "message",
            "user": authors[i % 3],
            "ts": ts(i),
            "thread_ts": ts(0),
            "text": f"Update {i}: still looking",
        }
        for i in range(250)
    ]
    thread[0].update(
        user=BOB,
        reply_count=249,
        reply_users=[JANE, BOB, CAROL],
        text="*Checkout is down* since the 14:00 deploy",
    )
    thread[1].update(
        user=JANE,
        text=(
            "*bold* _italic_ ~strike~ `x &lt; 1` see <https://status.example.com/a?b=1&amp;c=2|"
            "status page> cc <@U0CAROL> and <!subteam^S0DEV|@devs> in <#C0OPS|ops> and <#C0OPS> "
            "<!here> :fire: :no_such_emoji:"
        ),
    )
    thread[2].update(
        user=CAROL,
        text=(
            "```SELECT *\nFROM orders;```\n&gt; the logs say *timeout*\n• first\n• second\n"
            "1. one\n2. two"
        ),
    )
    thread[3].update(user=BOB, text="&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;")
    thread[4].update(user=JANE, text="The report", files=[report])
    thread[200] = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0DEP",
        "username": "Deployer",
        "ts": ts(200),
        "thread_ts": ts(0),
        "text": "Rolled back ~v42~",
    }
    thread[249].update(user=JANE, text="Fixed :tada:")
    slack.add_thread(INCIDENTS, thread)
    return thread


# ---------------------------------------------------------------- 1. a 250-message thread


async def test_a_250_message_thread_arrives_complete_and_faithful(harness: Harness) -> None:
    slack = harness.slack
    thread = incident_thread(slack)
    destination_id = await add_destination(harness)

    view = await open_send_modal(harness, thread[0], channel_id=INCIDENTS, channel_name="incidents")
    inputs = modal_inputs(view)
    assert inputs[ids.BLOCK_SEND_DESTINATION]["initial_option"]["value"] == destination_id
    assert inputs[ids.BLOCK_SEND_SCOPE]["initial_option"]["value"] == "thread"
    subject = "#incidents: Checkout is down since the 14:00 deploy"
    assert inputs[ids.BLOCK_SEND_SUBJECT]["initial_value"] == subject
    assert "initial_value" not in inputs[ids.BLOCK_SEND_NOTE]

    slack.rate_limit_next("conversations.replies", retry_after=0)  # Slack says: slow down
    calls_before = len(slack.calls)
    status, body = await harness.submit(
        view, send_values(view, note="Read the last reply first.\nThanks <3")
    )
    assert (status, body) == (200, "")
    delivery_id = newest_delivery(harness)

    final = await outcome(harness, delivery_id)
    match = SENT.fullmatch(str(final.params["text"]))
    assert match is not None, final.params["text"]
    assert match.groups()[:3] == ("250 messages from #incidents", JANE_LOGIN, "iCloud")
    assert sending_posts(harness) == ["⏳ Sending *iCloud*… Thread from #incidents"]
    assert status_texts(harness, delivery_id) == [final.params["text"]]

    # The thread was read over pages of 200, the 429 honoured, every person looked up once.
    during = slack.calls[calls_before:]
    pages = [
        (c.params.get("limit"), bool(c.params.get("cursor")))
        for c in during
        if c.method == "conversations.replies"
    ]
    assert pages == [("200", False), ("200", False), ("200", True)]
    looked_up = Counter(c.params["user"] for c in during if c.method == "users.info")
    assert looked_up == {JANE: 1, BOB: 1, CAROL: 1}

    [mail] = by_message_id(harness.smtp.received, delivery_row(harness, delivery_id)["message_id"])
    message = mail.message
    assert (mail.envelope_from, mail.rcpt_tos) == (JANE_LOGIN, [JANE_LOGIN])
    assert message["From"] == JANE_LOGIN and message["To"] == JANE_LOGIN
    assert message["Subject"] == subject
    assert message["Message-ID"] == f"<xenocept.{delivery_id}@icloud.com>"
    thread_id = "<thread.C0INC.1700000000.000100.T111@xenocept.invalid>"
    assert message["References"] == thread_id and message["In-Reply-To"] == thread_id
    sent_at = parsedate_to_datetime(str(message["Date"]))
    assert abs(sent_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert message.get_content_type() == "multipart/mixed"  # the report is attached

    plain, html = bodies(message)
    assert plain.startswith(
        "#incidents\n"
        "Thread started Tue 14 Nov 2023, 23:13 (Europe/Berlin) · 250 messages\n"
        f"View in Slack: {PERMALINK}\n\n"
        "Note:\n  Read the last reply first.\n  Thanks <3\n\n"
    )
    assert plain.count("─" * 60 + "\n") == 250
    for expected in (
        "Bob — Tue 14 Nov 2023, 23:13\n\n"
        "Checkout is down since the 14:00 deploy\n\n[249 replies]\n\n",
        "Jane Doe — Tue 14 Nov 2023, 23:14\n\n"
        "bold italic ~strike~ `x < 1` see status page (https://status.example.com/a?b=1&c=2) "
        "cc @Carol Kim and @devs in #ops and #ops @here 🔥 :no_such_emoji:\n\n",
        # Carol lives in Tokyo; the times are Jane's (Berlin), who forwarded the thread.
        "Carol Kim — Tue 14 Nov 2023, 23:15\n\n"
        "```\nSELECT *\nFROM orders;\n```\n> the logs say timeout\n• first\n• second\n"
        "1. one\n2. two\n\n",
        "Bob — Tue 14 Nov 2023, 23:16\n\n<script>alert(1)</script> &amp;\n\n",
        "Jane Doe — Tue 14 Nov 2023, 23:17\n\nThe report\n\nFiles:\n"
        "  • report.pdf — 16 bytes — attached — "
        "https://example.slack.com/files/U111/F0PDF/report.pdf\n\n",
        # The first message of the second page, by a bot, named by its username.
        "Deployer (app) — Wed 15 Nov 2023, 02:33\n\nRolled back ~v42~\n\n",
        "Jane Doe — Wed 15 Nov 2023, 03:22\n\nFixed 🎉\n\n"
        "-- \nForwarded from Slack with Xenocept for Slack\n",
    ):
        assert expected in plain, expected
    order = [int(n) for n in re.findall(r"^Update (\d+): still looking$", plain, re.M)]
    assert order == sorted(order) and len(order) == 250 - 7  # no page lost or repeated

    bare = unstyled(html)
    assert "<title>#incidents: Checkout is down since the 14:00 deploy</title>" in bare
    for expected in (
        "<div>#incidents</div><div>Thread started Tue 14 Nov 2023, 23:13 (Europe/Berlin) · "
        f'250 messages</div><div><a href="{PERMALINK}">View in Slack</a></div>',
        "<div>Note</div><div>Read the last reply first.<br>Thanks &lt;3</div>",
        f'<div><b>Bob</b> <span>Tue 14 Nov 2023, 23:13</span> · <a href="{PERMALINK}">link</a>'
        "</div><div><b>Checkout is down</b> since the 14:00 deploy</div>",
        "<div><b>bold</b> <i>italic</i> <s>strike</s> <code>x &lt; 1</code> see "
        '<a href="https://status.example.com/a?b=1&amp;c=2">status page</a> cc '
        "<span>@Carol Kim</span> and <span>@devs</span> in <span>#ops</span> and "
        "<span>#ops</span> <span>@here</span> 🔥 :no_such_emoji:</div>",
        "<div><pre>SELECT *\nFROM orders;</pre><blockquote>the logs say <b>timeout</b>"
        "</blockquote><ul><li>first</li><li>second</li></ul>"
        '<ol><li value="1">one</li><li value="2">two</li></ol></div>',
        "<div>&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp;</div>",
        '<div>📎 <a href="https://example.slack.com/files/U111/F0PDF/report.pdf">report.pdf</a>'
        " <span>· 16 bytes · attached</span></div>",
        "<div><b>Deployer</b> <span>APP</span> <span>Wed 15 Nov 2023, 02:33</span>",
        "<div>Fixed 🎉</div>",
    ):
        assert expected in bare, expected
    assert "script" not in tags_of(html)  # shown as text, never a tag

    [report] = [p for p in message.iter_attachments() if p.get_filename() == "report.pdf"]
    assert isinstance(report, EmailMessage) and report.get_content() == b"%PDF-1.4 numbers"
    assert slack.file_downloads == [
        ("/files-pri/T111-F0PDF/download/report.pdf", f"Bearer {slack.bot_token}")
    ]


# ---------------------------------------------------------------- 2. header injection


async def test_header_injection_from_message_text_and_subject_stays_on_one_line(
    harness: Harness,
) -> None:
    harness.slack.add_channel("C0GEN", name="general")
    message = {
        "type": "message",
        "user": BOB,
        "ts": ts(0),
        "text": "Quarterly numbers\r\nBcc: attacker@evil.example\nX-Injected: yes",
    }
    await add_destination(harness)

    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    prefilled = modal_inputs(view)[ids.BLOCK_SEND_SUBJECT]["initial_value"]
    assert prefilled == "#general: Quarterly numbers Bcc: attacker@evil.example X-Injected: yes"
    status, _ = await harness.submit(view, send_values(view))
    assert status == 200
    first = newest_delivery(harness)
    await outcome(harness, first, starts=("✅",))

    typed = "Hi\r\nBcc: attacker@evil.example\r\n\r\n<b>body</b>\x00\u2028X-Evil: 1"
    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    status, _ = await harness.submit(view, send_values(view, subject=typed))
    assert status == 200
    second = newest_delivery(harness)
    await outcome(harness, second, starts=("✅",))

    expected = {  # delivery → (Subject header, the HTML document's title)
        first: (
            "#general: Quarterly numbers Bcc: attacker@evil.example X-Injected: yes",
            "#general: Quarterly numbers Bcc: attacker@evil.example X-Injected: yes",
        ),
        second: (
            "Hi Bcc: attacker@evil.example <b>body</b> X-Evil: 1",
            "Hi Bcc: attacker@evil.example &lt;b&gt;body&lt;/b&gt; X-Evil: 1",
        ),
    }
    for delivery_id, (subject, title) in expected.items():
        [mail] = by_message_id(
            harness.smtp.received, delivery_row(harness, delivery_id)["message_id"]
        )
        assert mail.rcpt_tos == [JANE_LOGIN]
        # Python folds a long Subject right after "Subject:"; readers drop the fold's space.
        assert str(mail.message["Subject"]).lstrip() == subject
        names = [
            line.split(":", 1)[0].lower()
            for line in header_lines(mail.raw)
            if line and not line[0].isspace()
        ]  # continuation lines start with a space
        assert not {"bcc", "x-injected", "x-evil"} & set(names), names
        assert names.count("subject") == 1
        plain, html = bodies(mail.message)
        assert "Quarterly numbers\nBcc: attacker@evil.example\nX-Injected: yes" in plain
        assert f"<title>{title}</title>" in html and "<b>body</b>" not in html


# ---------------------------------------------------------------- 3. no destination yet


async def test_without_a_destination_the_modal_explains_and_adds_one(
    harness: Harness,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    slack = harness.slack
    message = {"type": "message", "user": BOB, "ts": ts(0), "text": "Worth keeping"}
    payload = harness.requests.message_shortcut(
        user_id=JANE,
        callback_id=ids.SHORTCUT_SEND_TO_EMAIL,
        channel_id="C0GEN",
        channel_name="general",
        message=message,
        response_url=slack.response_url("s"),
    )
    assert await harness.action(payload) == (200, "")
    opened = await slack.wait_for("views.open")
    view = opened.params["view"]
    assert "no email destination yet" in json.dumps(view)
    assert "submit" not in view  # nothing to submit, nothing to fail
    [button] = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["text"]["text"], button["action_id"]) == (
        "Add destination",
        ids.ACTION_PUSH_ADD_DESTINATION,
    )

    [stored] = [v for v in slack.views.values() if v["blocks"] == view["blocks"]]
    status, _ = await harness.action(
        harness.requests.block_actions(
            user_id=JANE,
            action_id=ids.ACTION_PUSH_ADD_DESTINATION,
            view=stored,
            trigger_id="222.333.trigger",
        )
    )
    assert status == 200
    pushed = await slack.wait_for("views.push")
    assert pushed.params["trigger_id"] == "222.333.trigger"
    assert pushed.params["view"]["callback_id"] == ids.VIEW_DESTINATION_FORM
    setup = slack.views[
        [k for k, v in slack.views.items() if v["callback_id"] == ids.VIEW_DESTINATION_FORM][-1]
    ]
    assert setup["previous_view_id"] == stored["id"]  # stacked on top, Back returns

    # The pushed form works like any other: the destination is saved and tested.
    status, body = await harness.submit(setup, form_values(port=harness.smtp.submission_port))
    # Saved: both stacked modals close (the stale "no destination" one too).
    assert (status, body) == (200, {"response_action": "clear"})
    await harness.dm_update(lambda text: "works" in text)
    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    assert view["callback_id"] == ids.VIEW_SEND_FORM
    assert slack.calls_to("chat.postEphemeral") == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# ---------------------------------------------------------------- 4. not in the channel


async def test_not_in_channel_explains_invite_and_sends_only_the_message(
    harness: Harness,
) -> None:
    slack = harness.slack
    slack.add_channel("C0SEC", name="secret-plans", bot_is_member=False)
    parent = {
        "type": "message",
        "user": BOB,
        "ts": ts(0),
        "thread_ts": ts(0),
        "reply_count": 1,
        "text": "The plan, do not forward",
    }
    reply = {
        "type": "message",
        "user": BOB,
        "ts": ts(1),
        "thread_ts": ts(0),
        "parent_user_id": BOB,
        "text": "Only *this* part matters",
    }
    slack.add_thread("C0SEC", [parent, reply])
    await add_destination(harness)

    delivery_id = await send(harness, reply, channel_id="C0SEC", channel_name="secret-plans")
    failed = await outcome(harness, delivery_id)
    text = str(failed.params["text"])
    assert text.startswith("❌ Not sent: *iCloud* — Thread from #secret-plans.")
    blocks = json.dumps(failed.params["blocks"], ensure_ascii=False)
    assert "/invite @Xenocept" in blocks
    buttons = {
        e["action_id"]: e
        for b in failed.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    only = buttons[ids.ACTION_SEND_ONLY_MESSAGE]
    assert only["text"]["text"] == "Send only this message" and only["value"] == delivery_id
    row = delivery_row(harness, delivery_id)
    assert (row["status"], row["attempts"]) == ("FAILED", 1)  # nothing to retry
    assert not any("Retrying" in t for t in status_texts(harness, delivery_id))
    assert len(harness.smtp.received) == 1  # only the destination's test
    history_reads = len(slack.calls_to("conversations.replies"))

    status_message = slack.messages[(row["status_channel"], row["status_ts"])]
    status, _ = await harness.action(
        harness.requests.block_actions(  # Bob forges Jane's id
            user_id=BOB,
            action_id=ids.ACTION_SEND_ONLY_MESSAGE,
            value=delivery_id,
            channel_id="DU0BOB",
            message=status_message,
            response_url=slack.response_url("bob"),
        )
    )
    assert status == 200
    _, refused = await slack.wait_for_response_url(key="bob")
    assert "not yours" in refused["text"] and "nothing was done" in refused["text"]
    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(1,)]

    status, _ = await harness.action(
        harness.requests.block_actions(
            user_id=JANE,
            action_id=ids.ACTION_SEND_ONLY_MESSAGE,
            value=delivery_id,
            channel_id=row["status_channel"],
            message=status_message,
            response_url=slack.response_url("status"),
        )
    )
    assert status == 200
    # The new delivery is queued after the ack: its outcome is the event to wait for.
    sent = await harness.dm_update(lambda text: text.startswith("✅ Sent"))
    match = SENT.fullmatch(str(sent.params["text"]))
    assert match is not None and match.group(1) == "1 message from #secret-plans"
    resent = newest_delivery(harness)
    assert resent != delivery_id
    assert delivery_row(harness, resent)["status_ts"] == sent.params["ts"]
    assert len(slack.calls_to("conversations.replies")) == history_reads  # no history needed

    [mail] = by_message_id(harness.smtp.received, delivery_row(harness, resent)["message_id"])
    plain, html = bodies(mail.message)
    assert "Only this part matters" in plain and "Only <b>this</b> part matters" in html
    assert "The plan" not in plain and "The plan" not in html
    assert "Posted Tue 14 Nov 2023, 23:14 (Europe/Berlin) · 1 message" in plain


# ---------------------------------------------------------------- 5. a Xenocept session


def solid_png(rgb: tuple[int, int, int], width: int = 8, height: int = 6) -> bytes:
    return png(width, height, bytes(rgb) * (width * height))


SESSION_ID = "session-2026-11-24-14-07-31.482"


def shared_session(slack: SlackStandIn) -> tuple[dict[str, Any], dict[str, bytes]]:
    images = {
        "screenshot.png": solid_png((10, 20, 30), 40, 30),
        "focus-0.png": solid_png((200, 0, 0)),
        "focus-1.png": solid_png((0, 200, 0)),
    }
    session = {
        "id": SESSION_ID,
        "created_at": "2026-11-24T14:07:31.482Z",
        "screenshot": "screenshot.png",
        "comments": [  # out of order on purpose: the email follows "index"
            {
                "index": 1,
                "text": "Date picker overlaps the footer\non 1366x768 screens",
                "side": "top",
                "focus_x": 240,
                "focus_y": 410,
                "focus_width": 420,
                "focus_height": 300,
                "focus_image": "focus-1.png",
            },
            {
                "index": 0,
                "text": "Save is disabled <even> when valid",
                "side": "right",
                "focus_x": 812,
                "focus_y": 604,
                "focus_width": 180,
                "focus_height": 56,
                "focus_image": "focus-0.png",
            },
        ],
        "bubbles": [{"text": "this scrolls weirdly", "target_x": 540, "target_y": 220}],
        "texts": [{"text": "see ticket #4123", "x": 400, "y": 100}],
        "canvas_objects": [{"opaque": True}],
        "future_field": {"ignored": 1},
    }
    files = [
        slack.add_file(
            "F0JSON", "session.json", json.dumps(session).encode(), "application/json", user=BOB
        )
    ]
    files += [
        slack.add_file(f"F0IMG{n}", name, content, "image/png", user=BOB)
        for n, (name, content) in enumerate(images.items())
    ]
    message = {
        "type": "message",
        "user": BOB,
        "ts": ts(0),
        "text": "New Xenocept session",
        "files": files,
    }
    return message, images


def related_images(message: EmailMessage) -> dict[str, bytes]:
    """Content-ID (without <>) → bytes of every inline image."""
    found: dict[str, bytes] = {}
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            assert isinstance(part, EmailMessage)
            found[str(cid).strip("<>")] = part.get_content()
    return found


async def test_a_shared_xenocept_session_renders_like_xenocept_email(harness: Harness) -> None:
    slack = harness.slack
    slack.add_channel("C0DES", name="design")
    message, images = shared_session(slack)
    await add_destination(harness)

    delivery_id = await send(
        harness, message, channel_id="C0DES", channel_name="design", note="From the design review"
    )
    await outcome(harness, delivery_id, starts=("✅",))
    [mail] = by_message_id(harness.smtp.received, delivery_row(harness, delivery_id)["message_id"])
    plain, html = bodies(mail.message)

    inline = related_images(mail.message)
    shown = dict(re.findall(r'<img src="cid:([^"]+)" alt="([^"]+)"', html))
    assert {alt: inline[cid] for cid, alt in shown.items()} == {
        "Annotated screenshot": images["screenshot.png"],
        "Close-up for Note 1": images["focus-0.png"],
        "Close-up for Note 2": images["focus-1.png"],
    }
    bare = unstyled(html)
    note_1 = bare.index(
        "<div><b>Note 1</b> <span>· right</span></div>"
        "<div>Save is disabled &lt;even&gt; when valid</div>"
    )
    note_2 = bare.index(
        "<div><b>Note 2</b> <span>· top</span></div>"
        "<div>Date picker overlaps the footer<br>on 1366x768 screens</div>"
    )
    assert (
        bare.index('alt="Annotated screenshot"')
        < note_1
        < bare.index('alt="Close-up for Note 1"')
        < note_2
        < bare.index('alt="Close-up for Note 2"')
    )
    assert "<b>Bubbles</b><ul><li>this scrolls weirdly</li></ul>" in bare
    assert "<b>Texts</b><ul><li>see ticket #4123</li></ul>" in bare
    assert f"{SESSION_ID} · created Tue 24 Nov 2026, 15:07 (Europe/Berlin)" in bare

    assert (
        f"Xenocept session {SESSION_ID} · created Tue 24 Nov 2026, 15:07 (Europe/Berlin)\n\n"
        "Session files in Slack: https://example.slack.com/files/U0BOB/F0JSON/session.json\n\n"
        "Annotated screenshot attached: screenshot.png\n\n"
        "Note 1 (right):\n  Save is disabled <even> when valid\n"
        "  [close-up: focus-0.png, shown in the HTML version]\n\n"
        "Note 2 (top):\n  Date picker overlaps the footer\n  on 1366x768 screens\n"
        "  [close-up: focus-1.png, shown in the HTML version]\n\n"
        "Bubbles:\n  • this scrolls weirdly\n\nTexts:\n  • see ticket #4123\n"
    ) in plain
    assert "Files:" not in plain  # the session's own files are the session, not a list
    assert "Note:\n  From the design review" in plain
    # The suggested subject was kept, so a session's email is named after its first Note.
    assert mail.message["Subject"] == "Xenocept: Save is disabled <even> when valid"

    attachments = {p.get_filename(): p for p in mail.message.iter_attachments()}
    assert set(attachments) == {"screenshot.png"}  # inline mode: also attached once
    downloaded = dict(slack.file_downloads)
    assert set(downloaded) == {
        f"/files-pri/T111-{fid}/download/{name}"
        for fid, name in (
            ("F0JSON", "session.json"),
            ("F0IMG0", "screenshot.png"),
            ("F0IMG1", "focus-0.png"),
            ("F0IMG2", "focus-1.png"),
        )
    }
    assert set(downloaded.values()) == {f"Bearer {slack.bot_token}"}


# ---------------------------------------------------------------- 7. forged ids


async def test_another_users_destination_or_draft_forged_into_the_modal_is_refused(
    harness: Harness,
) -> None:
    slack = harness.slack
    slack.add_channel("C0GEN", name="general")
    message = {"type": "message", "user": BOB, "ts": ts(0), "text": "Hello"}
    janes = await add_destination(harness)
    await add_destination(harness, user=BOB, name="Bob mail")
    janes_view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    bobs_view = await open_send_modal(
        harness, message, channel_id="C0GEN", channel_name="general", user=BOB
    )
    options = modal_inputs(bobs_view)[ids.BLOCK_SEND_DESTINATION]["options"]
    assert [o["value"] for o in options] != [janes] and janes not in json.dumps(bobs_view)

    status, body = await harness.submit(
        bobs_view, send_values(bobs_view, destination=janes), user=BOB
    )
    assert status == 200 and body["response_action"] == "errors"
    assert "not yours" in body["errors"][ids.BLOCK_SEND_DESTINATION]

    forged = {**bobs_view, "private_metadata": janes_view["private_metadata"]}
    status, body = await harness.submit(forged, send_values(bobs_view), user=BOB)
    assert status == 200 and body == {
        "response_action": "errors",
        "errors": {ids.BLOCK_SEND_DESTINATION: STALE_FORM},
    }

    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(0,)]
    assert len(harness.smtp.received) == 2  # the two destination tests, nothing else
    assert sending_posts(harness, BOB) == sending_posts(harness, JANE) == []

    # Bob's own, unforged submit of the same modal goes through to Bob's address.
    status, body = await harness.submit(bobs_view, send_values(bobs_view), user=BOB)
    assert (status, body) == (200, "")
    delivered = await outcome(harness, newest_delivery(harness, BOB), starts=("✅",))
    assert "bob@example.com" in str(delivered.params["text"])
    assert harness.smtp.received[-1].rcpt_tos == ["bob@example.com"]


# ---------------------------------------------------------------- 8. refusals at submit


async def test_a_destination_whose_last_test_failed_is_refused_until_tested_again(
    harness: Harness,
) -> None:
    harness.slack.add_channel("C0GEN", name="general")
    message = {"type": "message", "user": BOB, "ts": ts(0), "text": "Hello"}
    harness.smtp._accounts[JANE_LOGIN].revoked = True
    await add_destination(harness)
    assert rows(harness, "select last_test_ok from destination") == [(0,)]

    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    label = modal_inputs(view)[ids.BLOCK_SEND_DESTINATION]["initial_option"]["text"]["text"]
    assert label.endswith("— last test failed")
    status, body = await harness.submit(view, send_values(view))
    assert status == 200 and body["response_action"] == "errors"
    error = body["errors"][ids.BLOCK_SEND_DESTINATION]
    assert "last test of iCloud failed" in error and "/xenocept test iCloud" in error
    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(0,)]
    assert harness.smtp.received == []

    harness.smtp._accounts[JANE_LOGIN].revoked = False  # the user fixed it (new password)
    await harness.command("test iCloud")
    await harness.dm_update(lambda text: "works" in text)
    status, body = await harness.submit(view, send_values(view))
    assert (status, body) == (200, "")
    await outcome(harness, newest_delivery(harness), starts=("✅",))


async def test_the_hourly_limit_refuses_with_a_friendly_message(
    tmp_path: Path,
    slack: SlackStandIn,
    icloud: ICloudLikeServer,
    ca: trustme.CA,
) -> None:
    settings = make_settings(tmp_path, slack, XENOCEPT_USER_SENDS_PER_HOUR=1)
    async with running_app(settings, ca) as (app, http):
        harness = Harness(
            app=app,
            http=http,
            slack=slack,
            smtp=icloud,
            requests=SlackRequests(SIGNING_SECRET),
            database_path=tmp_path / "data" / "xenocept.db",
        )
        slack.add_channel("C0GEN", name="general")
        message = {"type": "message", "user": BOB, "ts": ts(0), "text": "Hello"}
        await add_destination(harness)  # a test send does not count against the limit
        first = await send(harness, message, channel_id="C0GEN", channel_name="general")
        await outcome(harness, first, starts=("✅",))

        view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
        status, body = await harness.submit(view, send_values(view))
        assert status == 200 and body["response_action"] == "errors"
        assert body["errors"][ids.BLOCK_SEND_DESTINATION] == (
            "You sent 1 email in the last hour, the most allowed. Try again in a little while."
        )
        assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(1,)]
        assert len(icloud.received) == 2


# ---------------------------------------------------------------- 9. history and App Home


def recent_lines(blocks: list[dict[str, Any]]) -> list[str]:
    texts = [
        b["text"]["text"]
        for b in blocks
        if b["type"] == "section" and "attempt(s)" in b["text"]["text"]
    ]
    return [
        re.sub(r"<!date\^\d+\^[^|]*\|[^>]*>", "DATE", line)
        for text in texts
        for line in text.split("\n")
    ]


async def test_history_and_app_home_list_sends_with_status_and_attempts(
    harness: Harness,
) -> None:
    message = {"type": "message", "user": BOB, "ts": ts(0), "text": "Hello"}
    await add_destination(harness)

    async def send_from(channel: str) -> str:
        harness.slack.add_channel(f"C0{channel.upper()}", name=channel)
        delivery_id = await send(
            harness, message, channel_id=f"C0{channel.upper()}", channel_name=channel
        )
        await outcome(harness, delivery_id)
        return delivery_id

    await send_from("one")
    harness.smtp.temp_fail_data = 1
    await send_from("two")  # 451 once, then sent
    harness.smtp._accounts[JANE_LOGIN].revoked = True
    await send_from("three")  # 535: failed at once
    harness.smtp._accounts[JANE_LOGIN].revoked = False
    for channel in ("four", "five", "six"):
        await send_from(channel)

    status, body = await harness.command("history")
    assert status == 200
    lines = recent_lines(body["blocks"])
    failure = (
        "❌ DATE · Message from #three → *iCloud* · failed, 1 attempt(s) · Logging in "
        "failed: iCloud answered: 535 5.7.8 Error: authentication failed: "
        "authentication failure"
    )
    assert lines == [
        "✅ DATE · 1 message from #six → *iCloud* · sent, 1 attempt(s)",
        "✅ DATE · 1 message from #five → *iCloud* · sent, 1 attempt(s)",
        "✅ DATE · 1 message from #four → *iCloud* · sent, 1 attempt(s)",
        failure,
        "✅ DATE · 1 message from #two → *iCloud* · sent, 2 attempt(s)",
        "✅ DATE · 1 message from #one → *iCloud* · sent, 1 attempt(s)",
        "✅ DATE · Test session → *iCloud* · sent, 1 attempt(s)",
    ]

    before = len(harness.slack.calls)
    status, _ = await harness.send(
        harness.requests.event(
            {"type": "app_home_opened", "user": JANE, "channel": "D1", "tab": "home"}
        )
    )
    assert status == 200
    home = await harness.slack.wait_for(
        "views.publish",
        lambda c: c.params["user_id"] == JANE and any(c is x for x in harness.slack.calls[before:]),
    )
    assert recent_lines(home.params["view"]["blocks"]) == lines[:5]


async def test_the_suggested_subject_reads_like_the_email(harness: Harness) -> None:
    await add_destination(harness)
    message = {
        "type": "message",
        "user": JANE,
        "ts": ts(0),
        "text": "<@U0BOB> the deploy_id is :rotating_light: _down_ again",
    }
    harness.slack.add_thread(INCIDENTS, [message])
    view = await open_send_modal(harness, message, channel_id=INCIDENTS, channel_name="incidents")
    assert modal_inputs(view)[ids.BLOCK_SEND_SUBJECT]["initial_value"] == (
        "#incidents: @Bob the deploy_id is 🚨 down again"
    )
