"""Finding and parsing Xenocept sessions (loose files and zips)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.render.model import FileItem, Session
from bot.render.sample import sample_images
from bot.render.session import (
    MAX_ZIP_ENTRIES,
    SessionFormatError,
    SessionProblem,
    find_session,
    match_session,
    parse_session,
)

SCREENSHOT, FOCUS = sample_images()

# The example from xenocept.md, section 1.
EXAMPLE: dict[str, Any] = {
    "id": "session-2026-11-24-14-07-31.482",
    "created_at": "2026-11-24T14:07:31.482Z",
    "screenshot": "screenshot.png",
    "comments": [
        {"index": 0, "text": "Save button is disabled even after all fields are valid",
         "side": "right", "focus_x": 812, "focus_y": 604, "focus_width": 180, "focus_height": 56,
         "focus_image": "focus-0.png"},
        {"index": 1, "text": "Date picker overlaps the footer\non 1366x768 screens",
         "side": "top", "focus_x": 240, "focus_y": 410, "focus_width": 420, "focus_height": 300,
         "focus_image": "focus-1.png"},
    ],
    "bubbles": [{"text": "this scrolls weirdly", "target_x": 540, "target_y": 220}],
    "texts": [{"text": "see ticket #4123", "x": 400, "y": 100}],
    "canvas_objects": [],
}  # fmt: skip


def bundle(data: Any = None, **extra: bytes) -> dict[str, bytes]:
    raw = json.dumps(EXAMPLE if data is None else data).encode()
    return {"session.json": raw, "screenshot.png": SCREENSHOT, "focus-0.png": FOCUS,
            "focus-1.png": FOCUS, **extra}  # fmt: skip


def changed(**fields: Any) -> dict[str, Any]:
    return {**EXAMPLE, **fields}


def item(name: str, content: bytes | None, mimetype: str = "application/octet-stream") -> FileItem:
    size = len(content) if content is not None else 123
    return FileItem(
        f"F-{name}", name, mimetype, size, f"https://slack.example/files/{name}", content
    )


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# ---------------------------------------------------------------- parse_session


def test_parses_documented_example() -> None:
    session = parse_session(bundle())
    assert session.session_id == "session-2026-11-24-14-07-31.482"
    assert session.created_at == datetime(2026, 11, 24, 14, 7, 31, 482000, tzinfo=UTC)
    assert session.screenshot == "screenshot.png"
    assert [(n.index, n.side, n.focus_image) for n in session.notes] == [
        (0, "right", "focus-0.png"),
        (1, "top", "focus-1.png"),
    ]
    assert session.notes[1].text == "Date picker overlaps the footer\non 1366x768 screens"
    assert [b.text for b in session.bubbles] == ["this scrolls weirdly"]
    assert [t.text for t in session.texts] == ["see ticket #4123"]
    assert session.ocr_text is None and session.alternative_description is None
    assert dict(session.images) == {
        "screenshot.png": SCREENSHOT,
        "focus-0.png": FOCUS,
        "focus-1.png": FOCUS,
    }


def test_unknown_keys_and_optional_fields() -> None:
    data = changed(
        dispatched_at="2026-11-24T14:08:00.000Z",
        schema_future={"x": [1, 2]},
        canvas_objects=[{"type": "rect", "weird": True}],
        ocr_text="Save",
        alternative_description="A form with a disabled button",
    )
    session = parse_session(bundle(data))
    assert session.ocr_text == "Save"
    assert session.alternative_description == "A form with a disabled button"


def test_minimal_session() -> None:
    session = parse_session({"session.json": b'{"id": "session-2026-01-02-03-04-05.006"}'})
    assert session.created_at is None
    assert session.screenshot == "screenshot.png"
    assert session.notes == () and session.bubbles == () and session.texts == ()
    assert dict(session.images) == {}


def test_notes_sorted_by_index_and_focus_fallback() -> None:
    comments = [
        {"index": 1, "text": "second"},
        {"index": 0, "text": "first", "focus_image": "focus-0.png"},
    ]
    session = parse_session(bundle(changed(comments=comments)))
    assert [n.text for n in session.notes] == ["first", "second"]
    assert session.notes[1].focus_image == "focus-1.png"  # present beside session.json


@pytest.mark.parametrize(
    "bad_id",
    ["", "session-2026-11-24", "01HF0000000000000000000000", "session-2026-11-24-14-07-31",
     "../session-2026-11-24-14-07-31.482", "session-2026-11-24-14-07-31.482\n", 42, None],
)  # fmt: skip
def test_bad_id(bad_id: Any) -> None:
    with pytest.raises(SessionFormatError, match='"id"'):
        parse_session(bundle(changed(id=bad_id)))


@pytest.mark.parametrize(
    "name", ["../x.png", "a/b.png", "a\\b.png", "..", "", "x\x00.png", "/etc/passwd", 7]
)
def test_screenshot_must_be_plain_name(name: Any) -> None:
    with pytest.raises(SessionFormatError, match="plain file name"):
        parse_session(bundle(changed(screenshot=name)))


@pytest.mark.parametrize("name", ["../x.png", "a/b.png", "..\\focus-0.png"])
def test_focus_image_must_be_plain_name(name: str) -> None:
    comments = [{"index": 0, "text": "x", "focus_image": name}]
    with pytest.raises(SessionFormatError, match="plain file name"):
        parse_session(bundle(changed(comments=comments)))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"", "not valid JSON"),
    ],
)
def test_malformed_json(raw: bytes, reason: str) -> None:
    with pytest.raises(SessionFormatError, match=reason):
        parse_session({"session.json": raw})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"comments": {"index": 0}}, "list of objects"),
        ({"comments": [{"index": "0", "text": "x"}]}, "index"),
        ({"comments": [{"index": True, "text": "x"}]}, "index"),
        ({"comments": [{"index": -1, "text": "x"}]}, "index"),
        ({"comments": [{"index": 0, "text": 5}]}, "text"),
        ({"comments": [{"index": 0, "text": "x", "side": 3}]}, "side"),
        ({"bubbles": ["text"]}, "list of objects"),
        ({"texts": [{"x": 1}]}, "text"),
        ({"created_at": "yesterday"}, "RFC 3339"),
        ({"created_at": "2026-11-24T14:07:31"}, "time zone"),
        ({"created_at": 1700000000}, "created_at"),
        ({"ocr_text": ["a"]}, "ocr_text"),
    ],
)
def test_invalid_field_types(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(SessionFormatError, match=reason):
        parse_session(bundle(changed(**fields)))


def test_missing_session_json() -> None:
    with pytest.raises(SessionFormatError, match="missing"):
        parse_session({"screenshot.png": SCREENSHOT})


def test_screenshot_that_is_not_png() -> None:
    with pytest.raises(SessionFormatError, match="not a PNG"):
        parse_session({**bundle(), "screenshot.png": b"<html>login</html>"})


def test_format_error_is_value_error() -> None:
    assert issubclass(SessionFormatError, ValueError)
    assert SessionFormatError("why").reason == "why"


# ---------------------------------------------------------------- find_session: loose files


def loose_files(data: Any = None) -> list[FileItem]:
    return [
        item("session.json", json.dumps(EXAMPLE if data is None else data).encode()),
        item("screenshot.png", SCREENSHOT, "image/png"),
        item("focus-0.png", FOCUS, "image/png"),
        item("focus-1.png", FOCUS, "image/png"),
        item("notes.txt", b"other file", "text/plain"),
    ]


def test_finds_loose_session_and_consumed_files() -> None:
    files = loose_files()
    found = match_session(files)
    assert isinstance(found.result, Session)
    assert found.result.session_id == EXAMPLE["id"]
    assert found.consumed == {
        "F-session.json",
        "F-screenshot.png",
        "F-focus-0.png",
        "F-focus-1.png",
    }
    assert find_session(files) == found.result


def test_no_session() -> None:
    assert find_session([]) is None
    assert find_session([item("report.pdf", b"%PDF-1.4", "application/pdf")]) is None
    assert find_session([item("photos.zip", make_zip({"a.png": SCREENSHOT}))]) is None
    assert find_session([item("broken.zip", b"PK\x03\x04 not really")]) is None
    assert find_session([item("big.zip", None)]) is None


def test_malformed_loose_session_is_a_problem() -> None:
    files = loose_files(changed(id="nope"))
    found = match_session(files)
    assert isinstance(found.result, SessionProblem)
    assert '"id" is not a Xenocept session id' in found.result.reason
    assert found.result.files == (files[0],)
    assert found.consumed == frozenset()


def test_undownloaded_session_json_is_a_problem() -> None:
    result = find_session([item("session.json", None)])
    assert isinstance(result, SessionProblem)
    assert "could not be downloaded" in result.reason


# ---------------------------------------------------------------- find_session: zips


def zip_entries(prefix: str = "") -> dict[str, bytes]:
    return {
        f"{prefix}session.json": json.dumps(EXAMPLE).encode(),
        f"{prefix}screenshot.png": SCREENSHOT,
        f"{prefix}focus-0.png": FOCUS,
        f"{prefix}focus-1.png": FOCUS,
    }


@pytest.mark.parametrize("prefix", ["", "session-2026-11-24-14-07-31.482/"])
def test_zip_with_session(prefix: str) -> None:
    archive = item("session.zip", make_zip(zip_entries(prefix)), "application/zip")
    found = match_session([archive])
    assert isinstance(found.result, Session)
    assert set(found.result.images) == {"screenshot.png", "focus-0.png", "focus-1.png"}
    assert found.consumed == {archive.file_id}


def test_zip_ignores_macos_metadata_and_nested_folders() -> None:
    entries = {
        **zip_entries("bundle/"),
        "__MACOSX/bundle/._session.json": b"junk",
        "__MACOSX/session.json": b"junk",
        "bundle/deeper/session.json": b"ignored",
    }
    assert isinstance(find_session([item("s.zip", make_zip(entries))]), Session)


def test_zip_session_deeper_than_one_folder_is_not_found() -> None:
    entries = {"a/b/session.json": json.dumps(EXAMPLE).encode()}
    assert find_session([item("s.zip", make_zip(entries))]) is None


def test_zip_path_traversal_entries_are_never_used() -> None:
    data = changed(screenshot="screenshot.png")
    entries = {"session.json": json.dumps(data).encode(), "../screenshot.png": SCREENSHOT}
    result = find_session([item("s.zip", make_zip(entries))])
    assert isinstance(result, Session)
    assert "screenshot.png" not in result.images


def test_zip_bomb_is_refused() -> None:
    entries = {**zip_entries(), "padding.png": b"\x00" * (61 * 1024 * 1024)}
    payload = make_zip(entries)
    assert len(payload) < 1024 * 1024  # tiny download, huge when unpacked
    result = find_session([item("bomb.zip", payload)])
    assert isinstance(result, SessionProblem)
    assert "more than the allowed size" in result.reason


def test_zip_with_too_many_entries_is_refused() -> None:
    entries = {**zip_entries(), **{f"x{n}.txt": b"" for n in range(MAX_ZIP_ENTRIES)}}
    result = find_session([item("many.zip", make_zip(entries))])
    assert isinstance(result, SessionProblem)
    assert "entries" in result.reason


def test_zip_with_bad_session_is_a_problem() -> None:
    entries = {"session.json": b"{oops"}
    result = find_session([item("s.zip", make_zip(entries))])
    assert isinstance(result, SessionProblem)
    assert "not valid JSON" in result.reason


def test_loose_session_json_wins_over_zip() -> None:
    files = [item("other.zip", make_zip(zip_entries())), *loose_files()]
    found = match_session(files)
    assert isinstance(found.result, Session)
    assert "F-other.zip" not in found.consumed
