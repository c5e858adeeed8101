"""The built-in sample session and the stdlib PNG encoder."""

from __future__ import annotations

import json
import re
import struct
import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

import pytest

from bot.render import Session, build_sample_conversation, find_session, png, render_email
from bot.render.email import default_subject
from bot.render.sample import FOCUS_BOX, SCREEN_SIZE, sample_images

SENT = datetime(2026, 11, 24, 13, 7, 31, 482000, tzinfo=UTC)


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Minimal decoder for what png() writes: (width, height, RGB pixels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        chunks.append((kind, payload))
        pos += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color) == (8, 2)
    raw = zlib.decompress(chunks[1][1])
    rows = [raw[y * (width * 3 + 1) : (y + 1) * (width * 3 + 1)] for y in range(height)]
    assert all(row[0] == 0 for row in rows)  # filter type "none"
    return width, height, b"".join(row[1:] for row in rows)


def pixel(image: tuple[int, int, bytes], x: int, y: int) -> tuple[int, ...]:
    width, _, pixels = image
    return tuple(pixels[(y * width + x) * 3 : (y * width + x) * 3 + 3])


def test_png_roundtrip() -> None:
    pixels = bytes(range(2 * 3 * 3))
    assert decode_png(png(2, 3, pixels)) == (2, 3, pixels)


@pytest.mark.parametrize(("width", "height", "length"), [(0, 1, 0), (2, 2, 11), (1, -1, 3)])
def test_png_rejects_bad_input(width: int, height: int, length: int) -> None:
    with pytest.raises(ValueError):
        png(width, height, bytes(length))


def test_sample_images() -> None:
    shot, focus = sample_images()
    screen = decode_png(shot)
    assert screen[:2] == SCREEN_SIZE
    x, y, width, height = FOCUS_BOX
    crop = decode_png(focus)
    assert crop[:2] == (width, height)
    assert pixel(screen, x + 4, y + 4) == (230, 40, 60)  # the red annotation
    assert pixel(crop, 4, 4) == (230, 40, 60)
    assert pixel(crop, width // 2, height // 2) == pixel(screen, x + width // 2, y + height // 2)


def test_sample_conversation_carries_a_session() -> None:
    conversation = build_sample_conversation(
        sent_at=SENT, time_zone="Europe/Berlin", user_name="Jane <Doe>"
    )
    (message,) = conversation.messages
    assert message.author == "Xenocept" and message.author_is_bot
    assert message.posted_at.utcoffset() is not None
    assert message.posted_at.hour == 14  # 13:07 UTC in Berlin
    assert [f.name for f in message.files] == ["session.json", "screenshot.png", "focus-0.png"]
    assert all(f.content is not None and f.size == len(f.content) for f in message.files)
    session = find_session(message.files)
    assert isinstance(session, Session)
    assert session.session_id == "session-2026-11-24-13-07-31.482"
    assert session.created_at == SENT
    assert len(session.notes) == len(session.bubbles) == len(session.texts) == 1
    assert "Xenocept test session" in session.notes[0].text
    assert "Real sessions will arrive like this" in session.notes[0].text
    assert set(session.images) == {"screenshot.png", "focus-0.png"}
    raw = message.files[0].content
    assert raw is not None and json.loads(raw)["canvas_objects"] == []


def test_sample_renders_like_a_real_session() -> None:
    conversation = build_sample_conversation(sent_at=SENT, time_zone="Nowhere/Bad", user_name="J")
    assert conversation.messages[0].posted_at.utcoffset() is not None
    subject = default_subject(conversation)
    assert subject.startswith("Xenocept: This is a Xenocept test session")
    rendered = render_email(
        conversation=conversation, note=None, subject=subject, sender="me@icloud.com",
        recipients=["me@icloud.com"], message_id="<t1@xenocept.local>", references=[],
        sent_at=SENT,
    )  # fmt: skip
    message = BytesParser(policy=default).parsebytes(rendered.message.as_bytes())
    assert isinstance(message, EmailMessage)
    html_part = message.get_body(("html",))
    assert html_part is not None
    markup = html_part.get_content()
    assert markup.index("Xenocept session") < markup.index("Note 1") < markup.index("Bubbles")
    assert len(re.findall(r'<img src="cid:', markup)) == 2
    assert [p.get_filename() for p in message.iter_attachments()] == ["screenshot.png"]
    assert (rendered.attached_files, rendered.linked_files) == (2, 0)
    assert ">session.json<" not in markup
