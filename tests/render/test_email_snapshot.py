"""The email as a whole, against snapshots: both versions' text, the MIME tree, and which
part carries what. A change to the templates or the layout shows up here as a diff to
read; when it is intended, rewrite the snapshots with UPDATE_SNAPSHOTS=1.

Content-IDs are random per render, so they are numbered in order of appearance."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.render.model import Conversation, LegacyAttachment, RenderedEmail, Section
from storage.models import ScreenshotMode
from tests.render.test_email import (
    chat,
    conv,
    file_item,
    noise_png,
    parse,
    render,
    session_conversation,
    thread,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
CID = re.compile(r"[A-Za-z0-9._%+-]+@xenocept\.local")


def grouped_with_legacy() -> RenderedEmail:
    legacy = (
        LegacyAttachment(
            title="Title &amp; x", title_link="https://x.example/a?b=1&c=2", text="*bold*",
            fallback="fb",
        ),
        LegacyAttachment(title="", title_link=None, text="", fallback="only &lt;fallback&gt;"),
    )  # fmt: skip
    messages = (
        chat("1.1", "Jane", "a", attachments=legacy),
        chat("1.2", "Bob", "b", 1),
        chat("1.3", "Bob", 'c "quoted" & <tagged>', 2),
        chat("1.4", "Bob", "d", 9, permalink="javascript:alert(1)"),
        chat("1.5", "CI", "e", 9, author_is_bot=True),
    )
    return render(
        conv(*messages, notices=("One file could not be downloaded <x>",)),
        note="Please look\n<b>now</b> & later",
        appendix=(Section("Extra <title>", ("line & 1", "line 2")),),
    )


def files_and_replies() -> Conversation:
    files = (
        file_item("a.png", noise_png(40, 40), "image/png"),
        file_item("b.txt", None, "text/plain", 123),
    )
    replies = (chat(f"1.{n}", f"P{n}", "word " * 300, n) for n in range(2, 9))
    return conv(chat("1.1", "Jane", "pics", files=files), *replies)


CASES: dict[str, Callable[[], RenderedEmail]] = {
    "thread": lambda: render(thread()),
    "grouped-legacy-note": grouped_with_legacy,
    "session": lambda: render(session_conversation()),
    "session-attached-small": lambda: render(
        session_conversation(), screenshot_mode=ScreenshotMode.ATTACHED, size_limit=20_000
    ),
    "files-trimmed": lambda: render(files_and_replies(), size_limit=12_000),
}


def described(rendered: RenderedEmail) -> str:
    """The email as text: each part's type, name and disposition, then its text (or the
    digest of its bytes), Content-IDs numbered."""
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return numbers.setdefault(match.group(0), f"cid-{len(numbers)}@xenocept.local")

    lines = []
    for part in parse(rendered).walk():
        assert isinstance(part, EmailMessage)
        head = [
            part.get_content_type(),
            str(part.get_filename()),
            str(part.get_content_disposition()),
        ]
        if part["Content-ID"]:
            head.append(str(part["Content-ID"]))
        lines.append(CID.sub(number, " ".join(head)))
        if part.is_multipart():
            continue
        content = part.get_content()
        if isinstance(content, str):
            lines.append(CID.sub(number, content.replace("\r\n", "\n")))
        else:
            lines.append(hashlib.sha256(content).hexdigest())
    counts = (rendered.attached_files, rendered.linked_files, rendered.trimmed_messages)
    lines.append(f"attached {counts[0]}, linked {counts[1]}, trimmed {counts[2]}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_email_matches_its_snapshot(case: str) -> None:
    text = described(CASES[case]())
    snapshot = SNAPSHOTS / f"{case}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(text)
    assert text == snapshot.read_text()
