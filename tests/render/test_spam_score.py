"""SpamAssassin scores the emails we send: each below 1.0, no rule caused by the email itself.

``spamassassin -L -t`` (Debian's ``spamassassin`` package, local tests only: no network) runs
over the exact bytes the renderer produces for the test send, a one-line message, a
50-message thread and a one-note session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.render import default_subject, render_email, session_in
from bot.render.explainers import explain_test_send
from bot.render.model import ChatMessage, Conversation, Directory, FileItem
from bot.render.sample import build_sample_conversation, sample_images
from tests.render.test_session import EXAMPLE

SENT = datetime(2026, 11, 24, 14, 7, tzinfo=UTC)
# Said of every message that did not come through a real mail relay, or of the address the
# user chose (iCloud is a free mail provider): not caused by what we write.
ENVIRONMENT = {"NO_RECEIVED", "NO_RELAYS", "FREEMAIL_FROM", "HTML_MESSAGE"}
SCORE = re.compile(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s", re.M)


def spamassassin_score(raw: bytes) -> tuple[float, set[str]]:
    done = subprocess.run(
        ["spamassassin", "-L", "-t"], input=raw, capture_output=True, timeout=60, check=True
    )
    report = done.stdout.decode(errors="replace")
    details = report.split("Content analysis details:", 1)[1]
    total = float(re.search(r"\((-?\d+\.\d+) points", details).group(1))  # type: ignore[union-attr]
    return total, {name for _, name in SCORE.findall(details)}


@pytest.fixture(scope="module", autouse=True)
def spamassassin() -> None:
    if shutil.which("spamassassin") is None:
        reason = "SpamAssassin is not installed: apt-get install spamassassin"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run these tests)")
        pytest.skip(reason)


def message(i: int, text: str, **extra: Any) -> ChatMessage:
    return ChatMessage(
        ts=f"{1_700_000_000 + 60 * i}.000100",
        author=("Jane Doe", "Bob Stone")[i % 2],
        author_is_bot=False,
        posted_at=SENT + timedelta(minutes=i),
        text=text,
        permalink=f"https://example.slack.com/archives/C0QA/p17000{i:05d}00100",
        **extra,
    )


def conversation(*messages: ChatMessage) -> Conversation:
    return Conversation(
        title="#qa-reports",
        messages=messages,
        directory=Directory(),
        permalink="https://example.slack.com/archives/C0QA/p1700000000000100",
        time_zone="Europe/Berlin",
    )


def one_note_session() -> Conversation:
    screenshot, focus = sample_images()
    data = {**EXAMPLE, "comments": EXAMPLE["comments"][:1], "bubbles": [], "texts": []}
    files = tuple(
        FileItem(f"F{n}", name, mime, len(content), f"https://files.example/{name}", content)
        for n, (name, mime, content) in enumerate(
            [
                ("session.json", "application/json", json.dumps(data).encode()),
                ("screenshot.png", "image/png", screenshot),
                ("focus-0.png", "image/png", focus),
            ]
        )
    )
    return conversation(message(0, "", files=files))


def rendered(conv: Conversation, **extra: Any) -> bytes:
    subject = default_subject(conv) if session_in(conv) else "#qa-reports: the login page"
    email = render_email(
        conversation=conv,
        note=None,
        subject=subject,
        sender="jane@icloud.com",
        recipients=["jane@icloud.com"],
        message_id="<d1.abc@xenocept.invalid>",
        references=(),
        sent_at=SENT,
        **extra,
    )
    return email.message.as_bytes()


def the_test_send() -> bytes:
    conv = build_sample_conversation(sent_at=SENT, time_zone="Europe/Berlin", user_name="Jane Doe")
    return rendered(
        conv,
        appendix=explain_test_send(
            name="iCloud",
            provider="iCloud Mail",
            host="smtp.mail.me.com",
            port=587,
            security="STARTTLS",
            username="jane@icloud.com",
            sender="jane@icloud.com",
            recipients=["jane@icloud.com"],
        ),
    )


EMAILS: dict[str, Callable[[], bytes]] = {
    "the test send": the_test_send,
    "a one-line message": lambda: rendered(conversation(message(0, "Login works again :tada:"))),
    "a 50-message thread": lambda: rendered(
        conversation(
            *(
                message(i, f"Step {i}: checked the *login* page on build {1000 + i}, see <#C0QA>")
                for i in range(50)
            )
        )
    ),
    "a one-note session": lambda: rendered(one_note_session()),
}


@pytest.mark.parametrize("kind", EMAILS)
def test_spamassassin_finds_nothing_in_what_we_write(kind: str) -> None:
    score, rules = spamassassin_score(EMAILS[kind]())
    assert rules - ENVIRONMENT == set(), (kind, score, rules)
    assert score < 1.0, (kind, score, rules)
