"""A built-in sample session, so a destination test send uses the real rendering path.

The PNGs are drawn and encoded with the standard library only (zlib + struct).
"""

from __future__ import annotations

import json
import struct
import zlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.render.model import ChatMessage, Conversation, Directory, FileItem
from bot.render.mrkdwn import escape

Color = tuple[int, int, int]
SCREEN_SIZE = (320, 200)
FOCUS_BOX = (190, 130, 120, 60)  # x, y, width, height of the Note's focus rectangle
_BACKGROUND: Color = (246, 246, 248)
_TITLE_BAR: Color = (222, 222, 226)
_SIDEBAR: Color = (63, 14, 64)
_TEXT_LINE: Color = (204, 206, 212)
_BUTTON: Color = (18, 100, 163)
_ANNOTATION: Color = (230, 40, 60)


# ---------------------------------------------------------------- PNG encoding


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(width: int, height: int, pixels: bytes) -> bytes:
    """Encode 8-bit RGB pixels (row-major, width*height*3 bytes) as a PNG file."""
    if width <= 0 or height <= 0 or len(pixels) != width * height * 3:
        raise ValueError("pixels must hold width*height RGB triples")
    stride = width * 3
    rows = b"".join(b"\x00" + pixels[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows, 9)),
            _chunk(b"IEND", b""),
        )
    )


# ---------------------------------------------------------------- drawing


class _Canvas:
    def __init__(self, width: int, height: int, color: Color) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(color) * (width * height))

    def fill(self, x: int, y: int, width: int, height: int, color: Color) -> None:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, self.width), min(y + height, self.height)
        row = bytes(color) * max(x1 - x0, 0)
        for line in range(y0, y1):
            start = (line * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def outline(self, x: int, y: int, width: int, height: int, color: Color, thick: int) -> None:
        self.fill(x, y, width, thick, color)
        self.fill(x, y + height - thick, width, thick, color)
        self.fill(x, y, thick, height, color)
        self.fill(x + width - thick, y, thick, height, color)

    def crop(self, x: int, y: int, width: int, height: int) -> bytes:
        stride = self.width * 3
        rows = (self.pixels[(y + r) * stride + x * 3 :][: width * 3] for r in range(height))
        return b"".join(bytes(row) for row in rows)

    def encode(self) -> bytes:
        return png(self.width, self.height, bytes(self.pixels))


def _mock_window() -> _Canvas:
    canvas = _Canvas(*SCREEN_SIZE, _BACKGROUND)
    canvas.fill(0, 0, SCREEN_SIZE[0], 18, _TITLE_BAR)
    for offset, color in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        canvas.fill(8 + offset * 12, 5, 8, 8, color)
    canvas.fill(0, 18, 64, SCREEN_SIZE[1] - 18, _SIDEBAR)
    for row in range(5):
        canvas.fill(80, 34 + row * 18, 200 - (row % 3) * 40, 8, _TEXT_LINE)
    canvas.fill(210, 145, 80, 30, _BUTTON)
    canvas.fill(230, 157, 40, 6, (255, 255, 255))
    x, y, width, height = FOCUS_BOX
    canvas.outline(x + 4, y + 4, width - 8, height - 8, _ANNOTATION, 3)
    return canvas


def sample_images() -> tuple[bytes, bytes]:
    """(screenshot.png, focus-0.png): a mock window with a red annotation, and its close-up."""
    canvas = _mock_window()
    x, y, width, height = FOCUS_BOX
    return canvas.encode(), png(width, height, canvas.crop(x, y, width, height))


# ---------------------------------------------------------------- session and conversation


def _session_json(sent_at: datetime, user_name: str) -> bytes:
    utc = sent_at.astimezone(UTC)
    millis = f"{utc.microsecond // 1000:03d}"
    x, y, width, height = FOCUS_BOX
    note = (
        f"This is a Xenocept test session, sent from Slack by {user_name}.\n"
        "Real sessions will arrive like this: the annotated screenshot, each Note with its "
        "close-up, then bubbles and texts."
    )
    data = {
        "id": f"session-{utc:%Y-%m-%d-%H-%M-%S}.{millis}",
        "created_at": f"{utc:%Y-%m-%dT%H:%M:%S}.{millis}Z",
        "screenshot": "screenshot.png",
        "comments": [
            {"index": 0, "text": note, "side": "left", "focus_x": x, "focus_y": y,
             "focus_width": width, "focus_height": height, "focus_image": "focus-0.png"},
        ],
        "bubbles": [{"text": "Bubbles point at one spot", "target_x": 120, "target_y": 60}],
        "texts": [{"text": "Free text shows up here", "x": 90, "y": 120}],
        "canvas_objects": [],
    }  # fmt: skip
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def _file(file_id: str, name: str, mimetype: str, content: bytes) -> FileItem:
    return FileItem(file_id, name, mimetype, len(content), "", content)


def sample_files(*, sent_at: datetime, user_name: str) -> tuple[FileItem, ...]:
    """session.json, screenshot.png and focus-0.png of the sample session, with content."""
    screenshot, focus = sample_images()
    return (
        _file("sample-session-json", "session.json", "application/json",
              _session_json(sent_at, user_name)),
        _file("sample-screenshot", "screenshot.png", "image/png", screenshot),
        _file("sample-focus-0", "focus-0.png", "image/png", focus),
    )  # fmt: skip


def _local(moment: datetime, time_zone: str) -> datetime:
    try:
        return moment.astimezone(ZoneInfo(time_zone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC)


def build_sample_conversation(*, sent_at: datetime, time_zone: str, user_name: str) -> Conversation:
    """One message by "Xenocept" carrying the built-in sample session."""
    text = (
        f"Test session for {escape(user_name)}: if you can read this, "
        "your email destination works. :white_check_mark:"
    )
    message = ChatMessage(
        ts=f"{sent_at.timestamp():.6f}",
        author="Xenocept",
        author_is_bot=True,
        posted_at=_local(sent_at, time_zone),
        text=text,
        permalink=None,
        files=sample_files(sent_at=sent_at, user_name=user_name),
    )
    return Conversation(
        title="Xenocept test session",
        permalink=None,
        messages=(message,),
        directory=Directory(users={}, channels={}, usergroups={}),
        time_zone=time_zone,
    )
