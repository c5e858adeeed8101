"""Render a sample thread (markup, files, a Xenocept session) to an .eml and an .html file.

Open the HTML in a browser, or screenshot it headless:
    python scripts/preview_email.py /tmp/preview
    chromium --headless --no-sandbox --disable-gpu --screenshot=/tmp/preview.png \
        --window-size=900,2400 file:///tmp/preview/email.html
Inline images (cid:) are written beside the HTML so the browser shows them too.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.render import (
    ChatMessage,
    Conversation,
    Directory,
    FileItem,
    build_sample_conversation,
    render_email,
)

ZONE = "Europe/Berlin"


def conversation() -> Conversation:
    start = datetime(2026, 11, 24, 13, 2, tzinfo=UTC).astimezone(ZoneInfo(ZONE))
    texts = [
        ("Jane Doe", "*Checkout is down* since the 14:00 deploy :rotating_light: <!here>"),
        ("Bob Stone", "Seeing `502` from the gateway. Logs:\n```upstream timed out\nretry 3/3```"),
        (
            "Jane Doe",
            "&gt; is it the new pool size?\nMaybe. Steps:\n• roll back\n• watch "
            "<https://grafana.example/d/abc|the dashboard>\n• ping <@U0BOB>",
        ),
        (
            "deploy-bot",
            "~Deploy 412~ rolled back. &lt;script&gt;alert(1)&lt;/script&gt; is "
            "just text :white_check_mark:",
        ),
    ]
    messages = [
        ChatMessage(
            ts=f"17000000{n}.000100",
            author=author,
            author_is_bot=author.endswith("bot"),
            posted_at=start + timedelta(minutes=3 * n),
            text=text,
            permalink=f"https://example.slack.com/archives/C1/p17000000{n}000100",
        )
        for n, (author, text) in enumerate(texts)
    ]
    log = FileItem(
        file_id="F1",
        name="gateway.log",
        mimetype="text/plain",
        size=48_213,
        permalink="https://example.slack.com/files/U1/F1/gateway.log",
        content=b"upstream timed out\n" * 100,
    )
    messages[1] = ChatMessage(**{**vars(messages[1]), "files": (log,)})
    sample = build_sample_conversation(sent_at=start, time_zone=ZONE, user_name="Jane Doe")
    messages.append(
        ChatMessage(
            **{
                **vars(sample.messages[0]),
                "ts": "1700000009.000100",
                "posted_at": start + timedelta(minutes=20),
            }
        )
    )
    return Conversation(
        title="#incidents",
        permalink="https://example.slack.com/archives/C1/p1700000000000100",
        messages=tuple(messages),
        time_zone=ZONE,
        directory=Directory(users={"U0BOB": "Bob Stone"}, channels={}, usergroups={}),
    )


def write(message: EmailMessage, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "email.eml").write_bytes(message.as_bytes())
    html = ""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = str(part.get_content())
        elif part.get("Content-ID"):
            name = str(part["Content-ID"]).strip("<>")
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                (folder / name).write_bytes(payload)
                html = html.replace(f"cid:{name}", name)
    (folder / "email.html").write_text(html, encoding="utf-8")


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "preview")
    now = datetime.now(UTC)
    rendered = render_email(
        conversation=conversation(),
        note="For the post-mortem on Thursday.",
        subject="#incidents: Checkout is down",
        sender="jane@icloud.com",
        recipients=["jane@icloud.com"],
        message_id="<preview.1@icloud.com>",
        references=["<thread.C1.1700000000.000100.T1@xenocept.invalid>"],
        sent_at=now,
    )
    write(rendered.message, folder)
    print(f"wrote {folder / 'email.html'} and {folder / 'email.eml'} ({rendered.size} bytes)")


if __name__ == "__main__":
    main()
