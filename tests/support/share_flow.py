"""Sharing from the desktop: sessions as Xenocept's File destination writes them, share
keys made through ``/xenocept connect``, and uploads to ``POST /xenocept/v1/sessions``."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from bot.render.sample import sample_images
from bot.share_http import SESSIONS_PATH
from tests.support.harness import JANE, Harness

KEY_PATTERN = re.compile(r"xsk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}")
QA = "C0QASHARE"
SESSION_ID = "session-2026-12-01-09-30-00.250"


def session_json(*, session_id: str = SESSION_ID, notes: int = 2, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": session_id,
        "created_at": "2026-12-01T09:30:00.250Z",
        "screenshot": "screenshot.png",
        "comments": [
            {
                "index": i,
                "text": f"Step {i + 1}: the Pay button does nothing on Safari",
                "side": "right",
                "focus_image": f"focus-{i}.png",
            }
            for i in range(notes)
        ],
        "bubbles": [{"text": "Clicked here", "target_x": 1, "target_y": 2}],
        "texts": [{"text": "Build 4.2.1", "x": 3, "y": 4}],
        "a_field_from_a_later_release": {"ignored": True},
    }
    data.update(extra)
    return data


def session_files(
    *, session_id: str = SESSION_ID, notes: int = 2, clean: bool = False, **extra: Any
) -> dict[str, bytes]:
    """A session folder's files by name: session.json, screenshot.png, focus-N.png."""
    screenshot, focus = sample_images()
    data = session_json(session_id=session_id, notes=notes, **extra)
    files = {"session.json": json.dumps(data, indent=2).encode(), "screenshot.png": screenshot}
    files.update({f"focus-{i}.png": focus for i in range(notes)})
    if clean:
        files["screenshot-clean.png"] = screenshot
    return files


def zipped(files: Mapping[str, bytes], folder: str = SESSION_ID) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{folder}/{name}" if folder else name, content)
    return buffer.getvalue()


def write_folder(parent: Path, files: Mapping[str, bytes], name: str = SESSION_ID) -> Path:
    folder = parent / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
        (folder / file_name).write_bytes(content)
    return folder


async def connect(harness: Harness, *, user: str = JANE, label: str = "MacBook") -> str:
    """A share key through ``/xenocept connect``: the text of the ephemeral answer."""
    status, body = await harness.command(f"connect {label}", user=user)
    assert status == 200, body
    found = KEY_PATTERN.findall(json.dumps(body))
    assert len(set(found)) == 1, body
    return str(found[0])


def qa_channel(harness: Harness, *, bot_is_member: bool = True) -> str:
    harness.slack.add_channel(QA, name="qa", bot_is_member=bot_is_member)
    return QA


def form(
    files: Mapping[str, bytes] | None = None,
    *,
    zip_content: bytes | None = None,
    to: str | None = "#qa",
) -> aiohttp.FormData:
    data = aiohttp.FormData()
    if to is not None:
        data.add_field("to", to)
    for name, content in (files or {}).items():
        data.add_field(
            "file", io.BytesIO(content), filename=name, content_type="application/octet-stream"
        )
    if zip_content is not None:
        data.add_field(
            "file",
            io.BytesIO(zip_content),
            filename=f"{SESSION_ID}.zip",
            content_type="application/zip",
        )
    return data


async def upload(
    harness: Harness,
    key: str | None,
    files: Mapping[str, bytes] | None = None,
    *,
    zip_content: bytes | None = None,
    to: str | None = "#qa",
    authorization: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """``POST /xenocept/v1/sessions`` as ``xenocept share`` sends it; (status, JSON)."""
    headers = {"Authorization": authorization or f"Bearer {key}"} if key or authorization else {}
    response = await harness.http.post(
        SESSIONS_PATH, data=form(files, zip_content=zip_content, to=to), headers=headers
    )
    body = await response.json()
    assert isinstance(body, dict)
    return response.status, body


def shared_messages(harness: Harness, channel: str = QA) -> list[dict[str, Any]]:
    """The messages files.completeUploadExternal made in ``channel``, oldest first."""
    return [
        message
        for (where, _), message in sorted(harness.slack.messages.items())
        if where == channel and message.get("upload")
    ]
