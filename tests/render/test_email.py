"""render_email: parse the result back and check both parts, headers, parts and size."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from datetime import datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape

from bot.render import (
    ChatMessage,
    Conversation,
    Directory,
    FileItem,
    LegacyAttachment,
    RenderedEmail,
    default_subject,
    human_size,
    render_email,
)
from bot.render.email import format_time
from bot.render.sample import png, sample_images
from storage.models import ScreenshotMode

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 24, 14, 7, tzinfo=BERLIN)  # a Tuesday
SENT = datetime(2026, 11, 24, 15, 0, tzinfo=BERLIN)
THREAD_LINK = "https://acme.slack.com/archives/C1/p1795962420000100"
DIRECTORY = Directory(users={"U1": "Jane Doe"}, channels={"C1": "incidents"}, usergroups={})
SCREENSHOT, FOCUS = sample_images()
FOCUS_1 = png(2, 1, bytes((1, 2, 3, 4, 5, 6)))


def noise_png(width: int, height: int, seed: int = 1) -> bytes:
    """An incompressible image, for size-limit tests."""
    return png(width, height, random.Random(seed).randbytes(width * height * 3))


NOISE_PDF = b"%PDF-1.4 " + random.Random(2).randbytes(30_000)

SESSION_JSON: dict[str, Any] = {
    "id": "session-2026-11-24-13-07-31.482",
    "created_at": "2026-11-24T13:07:31.482Z",
    "screenshot": "screenshot.png",
    "comments": [
        {"index": 1, "text": "Date picker overlaps the footer\non small screens", "side": "top",
         "focus_image": "focus-1.png"},
        {"index": 0, "text": "Save button stays disabled", "side": "right",
         "focus_image": "focus-0.png"},
    ],
    "bubbles": [{"text": "BUBBLE-ONE", "target_x": 1, "target_y": 2}],
    "texts": [{"text": "FREE-TEXT-ONE", "x": 1, "y": 2}],
    "ocr_text": "OCR-TEXT <Save>",
    "alternative_description": "DESCRIPTION-TEXT",
    "canvas_objects": [{"anything": "goes"}],
}  # fmt: skip


# ---------------------------------------------------------------- builders


def file_item(name: str, content: bytes | None, mimetype: str, size: int | None = None) -> FileItem:
    real = len(content) if content is not None else 0
    return FileItem(
        f"F-{name}", name, mimetype, real if size is None else size,
        f"https://acme.slack.com/files/U1/F-{name}/{name}", content,
    )  # fmt: skip


def chat(ts: str, author: str, text: str, minutes: int = 0, **extra: Any) -> ChatMessage:
    link = f"https://acme.slack.com/archives/C1/p{ts.replace('.', '')}"
    defaults: dict[str, Any] = {"author_is_bot": False, "permalink": link}
    return ChatMessage(
        ts=ts, author=author, text=text,
        posted_at=T0.replace(minute=T0.minute + minutes), **{**defaults, **extra},
    )  # fmt: skip


def conv(*messages: ChatMessage, title: str = "#incidents", **extra: Any) -> Conversation:
    fields: dict[str, Any] = {"permalink": THREAD_LINK, "notices": ()}
    return Conversation(
        title=title, messages=messages, directory=DIRECTORY, time_zone="Europe/Berlin",
        **{**fields, **extra},
    )  # fmt: skip


def render(conversation: Conversation, **extra: Any) -> RenderedEmail:
    args: dict[str, Any] = {
        "note": None,
        "subject": "Forwarded thread",
        "sender": "me@icloud.com",
        "recipients": ["me@icloud.com", "team@example.com"],
        "message_id": "<d1.abc@xenocept.local>",
        "references": [],
        "sent_at": SENT,
    }
    return render_email(conversation=conversation, **{**args, **extra})


def parse(rendered: RenderedEmail) -> EmailMessage:
    raw = rendered.message.as_bytes()
    assert rendered.size == len(raw)
    parsed = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # the wire format uses CRLF


def parts(message: EmailMessage) -> list[EmailMessage]:
    return [p for p in message.walk() if not p.is_multipart()]


def attachments(message: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in message.iter_attachments():
        name = part.get_filename()
        assert name is not None
        found[name] = part.get_content()
    return found


def related_by_cid(message: EmailMessage) -> dict[str, EmailMessage]:
    return {str(p["Content-ID"]).strip("<>"): p for p in parts(message) if p["Content-ID"]}


def session_files(
    data: dict[str, Any] | None = None, images: tuple[bytes, bytes, bytes] | None = None
) -> tuple[FileItem, ...]:
    raw = json.dumps(SESSION_JSON if data is None else data).encode()
    shot, focus_0, focus_1 = images or (SCREENSHOT, FOCUS, FOCUS_1)
    return (
        file_item("session.json", raw, "application/json"),
        file_item("screenshot.png", shot, "image/png"),
        file_item("focus-0.png", focus_0, "image/png"),
        file_item("focus-1.png", focus_1, "image/png"),
    )


def thread() -> Conversation:
    return conv(
        chat("1795962420.000100", "Jane Doe", "Deploy *failed* on <#C1>, cc <@U1> :fire:"),
        chat("1795962480.000200", "Bob", "&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt;", 1),
        chat("1795962540.000300", "CI Bot", "see <https://ci.example/run/1|run 1>", 2,
             author_is_bot=True),
    )  # fmt: skip


# ---------------------------------------------------------------- headers


def test_headers() -> None:
    refs = ["<root@xenocept.local>", "<d0@xenocept.local>"]
    message = parse(render(thread(), references=refs))
    assert message["From"] == "me@icloud.com"
    assert message["To"] == "me@icloud.com, team@example.com"
    assert message["Subject"] == "Forwarded thread"
    assert message["Date"] == "Tue, 24 Nov 2026 15:00:00 +0100"
    assert message["Message-ID"] == "<d1.abc@xenocept.local>"
    assert message["References"] == "<root@xenocept.local> <d0@xenocept.local>"
    assert message["In-Reply-To"] == "<root@xenocept.local>"


def test_no_references_no_threading_headers() -> None:
    message = parse(render(thread()))
    assert "References" not in message and "In-Reply-To" not in message


def test_subject_header_injection() -> None:
    rendered = render(thread(), subject="Hi\r\nBcc: x@evil.example\r\n\r\nbody")
    raw = rendered.message.as_bytes()
    message = parse(rendered)
    assert message["Subject"] == "Hi Bcc: x@evil.example body"
    assert "Bcc" not in message
    assert b"\r\nBcc:" not in raw


def test_subject_cleaned_and_capped() -> None:
    message = parse(render(thread(), subject="\x00Tab\there \u202e" + "x" * 300))
    subject = str(message["Subject"])
    assert subject.startswith("Tab here x")
    assert len(subject) == 200 and subject.endswith("…")


def test_empty_subject_uses_default() -> None:
    message = parse(render(thread(), subject=" \r\n "))
    assert message["Subject"] == "#incidents: Deploy failed on #incidents, cc @Jane Doe 🔥"


@pytest.mark.parametrize("bad", ["no-brackets@x", "<a@b>\r\nBcc: x@y", "<a b@c>", ""])
def test_message_id_must_be_well_formed(bad: str) -> None:
    with pytest.raises(ValueError):
        render(thread(), message_id=bad)


# ---------------------------------------------------------------- bodies


def test_structure_without_files() -> None:
    message = parse(render(thread()))
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parts(message)] == ["text/plain", "text/html"]


def test_plain_part_content() -> None:
    text = body(parse(render(thread(), note="Please look at this\n<b>today</b>")), "plain")
    expected = [
        "#incidents\nThread started Tue 24 Nov 2026, 14:07 (Europe/Berlin) · 3 messages\n"
        f"View in Slack: {THREAD_LINK}",
        "Note:\n  Please look at this\n  <b>today</b>",
        "Jane Doe — Tue 24 Nov 2026, 14:07\n\nDeploy failed on #incidents, cc @Jane Doe 🔥",
        "[2 replies]",
        "Bob — Tue 24 Nov 2026, 14:08\n",
        "<script>alert(1)</script> &lt;",
        "CI Bot (app) — Tue 24 Nov 2026, 14:09\n",
        "see run 1 (https://ci.example/run/1)",
    ]
    positions = [text.index(chunk) for chunk in expected]
    assert positions == sorted(positions)
    # The thread's link heads the email once; no message repeats its own permalink.
    assert text.count("https://acme.slack.com/archives/") == 1


def test_a_long_thread_in_plain_text_is_mostly_its_messages() -> None:
    messages = [
        chat(f"17959624{i:02d}.000100", ("Jane Doe", "Bob")[i % 2], f"message number {i}", i % 50)
        for i in range(50)
    ]
    text = body(parse(render(conv(*messages))), "plain")
    assert text.count("https://") == 1
    # A name, a time and a rule per message; the 96-character link lines made it ~215.
    assert len(text) / 50 < 130


def test_consecutive_messages_by_one_person_are_grouped_as_slack_shows_them() -> None:
    c = conv(
        chat("1.1", "Jane Doe", "PARENT"),
        chat("1.2", "Bob", "FIRST-REPLY", 1),
        chat("1.3", "Bob", "SAME-MINUTE", 1),
        chat("1.4", "Bob", "FOUR-LATER", 5),
        chat("1.5", "Bob", "TWELVE-LATER", 17),
        chat("1.6", "Bob Bot", "A-BOT", 17, author_is_bot=True),
        chat("1.7", "Jane Doe", "JANE-AGAIN", 18),
    )
    message = parse(render(c))
    plain = body(message, "plain")
    heads = [line for line in plain.splitlines() if " — Tue 24 Nov 2026" in line]
    assert heads == [
        "Jane Doe — Tue 24 Nov 2026, 14:07",
        "Bob — Tue 24 Nov 2026, 14:08",
        "Bob — Tue 24 Nov 2026, 14:24",
        "Bob Bot (app) — Tue 24 Nov 2026, 14:24",
        "Jane Doe — Tue 24 Nov 2026, 14:25",
    ]
    assert plain.index("FIRST-REPLY") < plain.index("SAME-MINUTE") < plain.index("FOUR-LATER")
    markup = body(message, "html")
    assert markup.count("<b>Bob</b>") == 2 and markup.count("<b>Jane Doe</b>") == 2
    assert markup.count(">link</a>") == 7  # grouped messages keep their own small link


def test_the_first_reply_is_never_grouped_with_the_parent() -> None:
    c = conv(chat("1.1", "Jane Doe", "PARENT"), chat("1.2", "Jane Doe", "REPLY", 1))
    plain = body(parse(render(c)), "plain")
    assert plain.count("Jane Doe — Tue 24 Nov 2026") == 2


def test_html_part_content() -> None:
    markup = body(parse(render(thread(), note="Please look at this\n<b>today</b>")), "html")
    assert "<title>Forwarded thread</title>" in markup
    assert ">#incidents</div>" in markup
    assert "Thread started Tue 24 Nov 2026, 14:07 (Europe/Berlin) · 3 messages" in markup
    assert f'<a href="{THREAD_LINK}" style="' in markup and ">View in Slack</a>" in markup
    assert "Please look at this<br>&lt;b&gt;today&lt;/b&gt;" in markup
    assert "<b>Jane Doe</b>" in markup and "<b>Bob</b>" in markup
    assert "Tue 24 Nov 2026, 14:08" in markup
    assert ">link</a>" in markup
    assert "Deploy <b>failed</b> on <span" in markup and ">#incidents</span>" in markup
    assert ">@Jane Doe</span>" in markup and "🔥" in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt;" in markup
    assert '<a href="https://ci.example/run/1" style="' in markup and ">run 1</a>" in markup
    assert ">APP</span>" in markup
    assert "<script" not in markup
    assert "max-width:680px" in markup and "-apple-system" in markup


def test_html_order_note_notice_messages() -> None:
    notices = ("Only this message was sent: the app is not in #secret",)
    c = conv(chat("1.1", "Jane Doe", "PARENT-TEXT"), notices=notices)
    markup = body(parse(render(c, note="NOTE-TEXT")), "html")
    order = ["#incidents", "NOTE-TEXT", "Only this message was sent", "PARENT-TEXT"]
    positions = [markup.index(chunk) for chunk in order]
    assert positions == sorted(positions)
    assert "Posted Tue 24 Nov 2026, 14:07 (Europe/Berlin) · 1 message<" in markup
    plain = body(parse(render(c)), "plain")
    assert "! Only this message was sent: the app is not in #secret" in plain


def test_unsafe_permalinks_are_not_links() -> None:
    c = conv(chat("1.1", "Jane", "hi", permalink="javascript:alert(1)"), permalink="data:x")
    markup = body(parse(render(c)), "html")
    assert "javascript:" not in markup and "data:x" not in markup
    assert "View in Slack" not in markup


def test_legacy_attachments() -> None:
    unfurl = LegacyAttachment(
        title="Incident &lt;42&gt;", title_link="https://status.example/42",
        text="*Major* outage", fallback="fallback text",
    )  # fmt: skip
    only_fallback = LegacyAttachment(title="", title_link=None, text="", fallback="FB &amp; co")
    c = conv(chat("1.1", "Jane", "look", attachments=(unfurl, only_fallback)))
    message = parse(render(c))
    markup = body(message, "html")
    assert '<a href="https://status.example/42" style="' in markup
    assert ">Incident &lt;42&gt;</a>" in markup
    assert "<b>Major</b> outage" in markup and "FB &amp; co" in markup
    plain = body(message, "plain")
    assert "| Incident <42> (https://status.example/42)\n| Major outage" in plain
    assert "| FB & co" in plain


# ---------------------------------------------------------------- files


def files_conversation() -> Conversation:
    image = noise_png(60, 60)
    files = (
        file_item("report.pdf", NOISE_PDF, "application/pdf", size=1_234_567),
        file_item("diagram.png", image, "image/png"),
        file_item("huge.mov", None, "video/quicktime", size=734_003_200),
    )
    return conv(chat("1.1", "Jane Doe", "files", files=files))


def test_files_attached_inline_and_linked() -> None:
    rendered = render(files_conversation())
    message = parse(rendered)
    assert (rendered.attached_files, rendered.linked_files) == (2, 1)
    assert set(attachments(message)) == {"report.pdf", "diagram.png"}
    assert attachments(message)["report.pdf"] == NOISE_PDF
    plain = body(message, "plain")
    link = "https://acme.slack.com/files/U1/F-report.pdf/report.pdf"
    assert f"  • report.pdf — 1.2 MB — attached — {link}" in plain
    assert "  • huge.mov — 734 MB — not downloaded — open it in Slack — " in plain
    markup = body(message, "html")
    assert f'<a href="{link}" style="' in markup and ">report.pdf</a>" in markup
    assert "· 1.2 MB · attached" in markup
    assert "· 734 MB · not downloaded — open it in Slack" in markup


def test_inline_image_cid_is_referenced_and_present() -> None:
    message = parse(render(files_conversation()))
    assert message.get_content_type() == "multipart/mixed"
    markup = body(message, "html")
    cids = re.findall(r'<img src="cid:([^"]+)"', markup)
    assert len(cids) == 1
    part = related_by_cid(message)[cids[0]]
    assert part.get_content_type() == "image/png"
    assert part.get_content_disposition() == "inline"
    assert part.get_content() == attachments(message)["diagram.png"]
    assert cids[0].endswith("@xenocept.local")
    html_part = message.get_body(("html",))
    assert html_part is not None


def test_mislabelled_image_is_only_attached() -> None:
    fake = file_item("login.png", b"<html>please log in</html>", "image/png")
    message = parse(render(conv(chat("1.1", "Jane", "x", files=(fake,)))))
    assert "cid:" not in body(message, "html")
    assert attachments(message) == {"login.png": b"<html>please log in</html>"}


def test_hostile_file_names_and_types() -> None:
    bad = FileItem("F1", "../../etc/pass\r\nwd.txt", "text/plain\r\nX-Evil: 1", 3, "", b"abc")
    message = parse(render(conv(chat("1.1", "Jane", "x", files=(bad,)))))
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "pass wd.txt"
    assert part.get_content_type() == "application/octet-stream"
    assert "X-Evil" not in part


def test_tiny_size_limit_links_files() -> None:
    rendered = render(files_conversation(), size_limit=12_000)
    message = parse(rendered)
    assert rendered.size <= 12_000
    assert (rendered.attached_files, rendered.linked_files) == (0, 3)
    assert rendered.trimmed_messages == 0
    assert list(message.iter_attachments()) == []
    assert "report.pdf — 1.2 MB — too large for this email — open it in Slack" in body(
        message, "plain"
    )


def test_partial_budget_prefers_smaller_files() -> None:
    small = file_item("small.txt", b"s" * 2_000, "text/plain")
    large = file_item("large.bin", b"L" * 40_000, "application/octet-stream")
    rendered = render(conv(chat("1.1", "Jane", "x", files=(large, small))), size_limit=30_000)
    assert set(attachments(parse(rendered))) == {"small.txt"}
    assert (rendered.attached_files, rendered.linked_files) == (1, 1)
    assert rendered.size <= 30_000


def test_default_limit_with_big_files() -> None:
    fits = file_item("fits.bin", bytes(19_000_000), "application/octet-stream")
    too_big = file_item("too-big.bin", bytes(21_000_000), "application/octet-stream")
    rendered = render(conv(chat("1.1", "Jane", "x", files=(fits, too_big))))
    assert rendered.size <= 28_319_744
    assert set(attachments(parse(rendered))) == {"fits.bin"}
    assert rendered.linked_files == 1


def test_text_too_big_is_trimmed_with_note() -> None:
    filler = "word " * 400
    messages = [chat(f"1.{n}", f"Person {n}", f"MSG-{n} {filler}", n) for n in range(12)]
    rendered = render(conv(*messages), size_limit=20_000)
    message = parse(rendered)
    plain, markup = body(message, "plain"), body(message, "html")
    assert rendered.size <= 20_000
    count = rendered.trimmed_messages
    assert 0 < count < 11
    kept = {n for n in range(12) if f"MSG-{n} " in plain}
    assert kept == {0, *range(count + 1, 12)}  # the parent and the newest replies
    note = (
        f"{count} messages were left out to stay within the mail size limit — "
        f"read the rest in Slack: {THREAD_LINK}"
    )
    assert note in plain and note in markup
    assert f"[11 replies ({count} earlier left out)]" in plain


def test_single_huge_message_is_shortened() -> None:
    rendered = render(conv(chat("1.1", "Jane", "START " + "x" * 50_000)), size_limit=10_000)
    plain = body(parse(rendered), "plain")
    assert rendered.size <= 10_000
    assert rendered.trimmed_messages == 0
    assert "START xxx" in plain and "… [shortened to fit the mail size limit]" in plain


# ---------------------------------------------------------------- sessions


def session_conversation() -> Conversation:
    extra = file_item("screenshot-clean.png", SCREENSHOT, "image/png")
    message = chat("1.1", "Jane Doe", "Found a bug", files=(*session_files(), extra))
    return conv(message, chat("1.2", "Bob", "on it", 3))


def test_session_rendering_order_html() -> None:
    message = parse(render(session_conversation()))
    markup = body(message, "html")
    cids = re.findall(r'<img src="cid:([^"]+)"', markup)
    assert len(cids) == 4  # screenshot, focus-0, focus-1, screenshot-clean as a plain file
    by_cid = related_by_cid(message)
    contents = [by_cid[cid].get_content() for cid in cids]
    assert contents == [SCREENSHOT, FOCUS, FOCUS_1, SCREENSHOT]
    order = [
        "Xenocept session", f"cid:{cids[0]}", "Note 1", "Save button stays disabled",
        f"cid:{cids[1]}", "Note 2", "Date picker overlaps the footer<br>on small screens",
        f"cid:{cids[2]}", "BUBBLE-ONE", "FREE-TEXT-ONE", "OCR-TEXT &lt;Save&gt;",
        "DESCRIPTION-TEXT", "screenshot-clean.png", "<b>Bob</b>",
    ]  # fmt: skip
    positions = [markup.index(chunk) for chunk in order]
    assert positions == sorted(positions)
    meta = "session-2026-11-24-13-07-31.482 · created Tue 24 Nov 2026, 14:07 (Europe/Berlin)"
    assert meta in markup


def test_session_files_not_listed_again() -> None:
    rendered = render(session_conversation())
    message = parse(rendered)
    markup = body(message, "html")
    assert ">session.json</a>" not in markup and ">focus-0.png</a>" not in markup
    assert ">screenshot-clean.png</a>" in markup
    assert sorted(attachments(message)) == ["screenshot-clean.png", "screenshot.png"]
    # screenshot, focus-0, focus-1, screenshot-clean
    assert (rendered.attached_files, rendered.linked_files) == (4, 0)


def test_session_rendering_plain() -> None:
    plain = body(parse(render(session_conversation())), "plain")
    order = [
        "Found a bug",
        "Xenocept session session-2026-11-24-13-07-31.482 · created Tue 24 Nov 2026, 14:07 "
        "(Europe/Berlin)",
        "Session files in Slack: https://acme.slack.com/files/U1/F-session.json/session.json",
        "Annotated screenshot attached: screenshot.png",
        "Note 1 (right):\n  Save button stays disabled\n  [close-up: focus-0.png",
        "Note 2 (top):\n  Date picker overlaps the footer\n  on small screens\n",
        "Bubbles:\n  • BUBBLE-ONE",
        "Texts:\n  • FREE-TEXT-ONE",
        "Text in the screenshot (OCR):\n  OCR-TEXT <Save>",
        "Description:\n  DESCRIPTION-TEXT",
        "Files:\n  • screenshot-clean.png",
        "Bob — Tue 24 Nov 2026, 14:10",
    ]
    positions = [plain.index(chunk) for chunk in order]
    assert positions == sorted(positions)


def test_screenshot_mode_attached() -> None:
    message = parse(render(session_conversation(), screenshot_mode=ScreenshotMode.ATTACHED))
    markup = body(message, "html")
    cids = re.findall(r'<img src="cid:([^"]+)"', markup)
    contents = [related_by_cid(message)[cid].get_content() for cid in cids]
    assert contents == [FOCUS, FOCUS_1, SCREENSHOT]  # focus images, then screenshot-clean
    assert "Annotated screenshot attached: screenshot.png" in markup
    assert attachments(message)["screenshot.png"] == SCREENSHOT


def test_session_images_dropped_when_too_big() -> None:
    images = (noise_png(100, 100, 3), noise_png(60, 60, 4), noise_png(60, 60, 5))
    message_ = chat("1.1", "Jane Doe", "Found a bug", files=session_files(images=images))
    rendered = render(conv(message_), size_limit=20_000)
    message = parse(rendered)
    assert rendered.size <= 20_000
    assert (rendered.attached_files, rendered.linked_files) == (0, 3)
    markup = body(message, "html")
    assert "cid:" not in markup
    assert "The annotated screenshot was left out to stay within the mail size limit." in markup
    assert "Close-up left out to stay within the mail size limit." in markup


def test_session_in_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in session_files():
            assert item.content is not None
            archive.writestr(f"session-2026-11-24-13-07-31.482/{item.name}", item.content)
    bundle = file_item("session.zip", buffer.getvalue(), "application/zip")
    message = parse(render(conv(chat("1.1", "Jane", "zip", files=(bundle,)))))
    markup = body(message, "html")
    assert "Save button stays disabled" in markup
    assert ">session.zip</a>" not in markup
    assert ">files in Slack</a>" in markup
    assert len(re.findall(r'<img src="cid:', markup)) == 3


def test_session_problem_falls_back_with_note() -> None:
    broken = {**SESSION_JSON, "id": "not-a-session"}
    files = session_files(broken)
    rendered = render(conv(chat("1.1", "Jane", "bug", files=files)))
    message = parse(rendered)
    plain, markup = body(message, "plain"), body(message, "html")
    reason = 'The Xenocept session could not be read: "id" is not a Xenocept session id'
    assert "! " + reason in plain
    assert escape(reason) in markup  # escaped by the template, as every value
    assert "Xenocept session session-" not in plain
    assert sorted(attachments(message)) == ["focus-0.png", "focus-1.png", "screenshot.png",
                                            "session.json"]  # fmt: skip
    assert "  • session.json — " in plain
    assert rendered.attached_files == 4


def test_content_ids_unique() -> None:
    message = parse(render(session_conversation()))
    ids = [str(p["Content-ID"]) for p in parts(message) if p["Content-ID"]]
    assert len(ids) == len(set(ids)) == 4


# ---------------------------------------------------------------- subjects and helpers


@pytest.mark.parametrize(
    ("conversation", "expected"),
    [
        (
            conv(chat("1.1", "J", "*Deploy* failed on <#C1>")),
            "#incidents: Deploy failed on #incidents",
        ),
        (
            conv(chat("1.1", "J", "one two three four five six seven eight nine ten")),
            "#incidents: one two three four five six seven eight…",
        ),
        (
            conv(chat("1.1", "J", "hi there"), title="DM with Jane Doe"),
            "DM with Jane Doe: hi there",
        ),
        (
            conv(chat("1.1", "J", "Supercalifragilisticexpialidocious" * 3)),
            "#incidents: " + ("Supercalifragilisticexpialidocious" * 2)[:60] + "…",
        ),
        (
            conv(chat("1.1", "J", "", files=(file_item("a.pdf", b"x", "application/pdf"),))),
            "#incidents: a.pdf",
        ),
        (
            conv(chat("1.1", "J", "Look", files=session_files())),
            "Xenocept: Save button stays disabled",
        ),
        (conv(chat("1.1", "J", "Line\r\nBcc: x@evil")), "#incidents: Line Bcc: x@evil"),
    ],
)  # fmt: skip
def test_default_subject(conversation: Conversation, expected: str) -> None:
    assert default_subject(conversation) == expected


def test_default_subject_long_note() -> None:
    data = {**SESSION_JSON, "comments": [{"index": 0, "text": "A" * 80 + "\nsecond line"}]}
    subject = default_subject(conv(chat("1.1", "J", "x", files=session_files(data))))
    assert subject == "Xenocept: " + "A" * 60 + "…"


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1_000, "1.0 KB"), (12_345, "12.3 KB"),
     (999_999, "1.0 MB"), (1_234_567, "1.2 MB"), (734_003_200, "734 MB"),
     (2_500_000_000, "2.5 GB")],
)  # fmt: skip
def test_human_size(size: int, expected: str) -> None:
    assert human_size(size) == expected


def test_format_time() -> None:
    assert format_time(T0) == "Tue 24 Nov 2026, 14:07"
    assert format_time(datetime(2027, 1, 3, 9, 5, tzinfo=BERLIN)) == "Sun 3 Jan 2027, 09:05"


def test_a_long_non_ascii_subject_folds_without_doubling_a_space() -> None:
    subject = (
        "#qa: Deploy 🚨 failed — see the runbook “payments” and the très long note "
        "about everything that went wrong today"
    )
    raw = render(thread(), subject=subject).message.as_bytes().decode()
    header = re.search(r"^Subject:(.*?)\r\n(?=\S)", raw, re.S | re.M)
    assert header is not None
    # What a lenient mail client shows: lines unfolded, each encoded-word decoded in place.
    unfolded = re.sub(r"\r\n(?=[ \t])", "", header.group(1)).strip()
    shown = re.sub(
        r"=\?utf-8\?[qb]\?[^?]*\?=\s*",
        lambda m: str(make_header(decode_header(m.group(0).strip()))),
        unfolded,
    )
    assert shown == subject
    assert parse(render(thread(), subject=subject))["Subject"] == subject


def test_an_internationalised_from_domain_goes_out_as_idna() -> None:
    from bot.destination_service import message_id_for

    message_id = message_id_for("d1", "jane@bücher.example")
    assert message_id == "<xenocept.d1@xn--bcher-kva.example>"
    rendered = render(
        thread(),
        sender="jane@bücher.example",
        recipients=["team@müller.example"],
        message_id=message_id,
    )
    raw = rendered.message.as_bytes()
    assert raw.isascii()
    parsed = parse(rendered)
    assert parsed["From"] == "jane@xn--bcher-kva.example"
    assert parsed["To"] == "team@xn--mller-kva.example"
    assert parsed["Message-ID"] == message_id


def test_a_digest_heads_each_thread_and_never_groups_across_them() -> None:
    from bot.delivery.session_compose import gathered

    first = conv(chat("1.1", "Jane Doe", "deploy failed"), chat("1.2", "Bob", "on it", 1))
    second = conv(chat("2.1", "Bob", "fixed now", 2), title="#incidents")
    digest = gathered([first, second], title="Daily digest of #incidents")
    assert digest.sections == 2 and len(digest.messages) == 3
    message = parse(render(digest))
    plain, html = body(message, "plain"), body(message, "html")
    assert plain.count("═" * 60) == 2
    assert "#incidents: deploy failed" in plain and "#incidents: fixed now" in plain
    assert "2 posts since Tue 24 Nov 2026, 14:07 (Europe/Berlin) · 3 messages" in plain
    assert "replies" not in plain  # not one thread: no "N replies" marker
    # Bob's second message is two minutes after his first, but in another post: named again.
    assert plain.count("Bob — ") == 2
    assert html.count("View in Slack") == 2  # a link per post; the digest itself has none
