"""Find and parse Xenocept sessions carried by Slack files.

A message carries a session when its files include a loose `session.json` (with
`screenshot.png` and `focus-N.png` beside it, matched by plain name) or a `.zip`
whose entries hold a session folder (`session.json` at the root or inside one
top-level folder). Zips are read in memory only, with limits on entry count and
total uncompressed size.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from bot.render.model import Bubble, FileItem, FreeText, Note, Session

SESSION_JSON = "session.json"
CLEAN_SCREENSHOT = "screenshot-clean.png"  # optional beside screenshot.png: no markup
MAX_ZIP_UNCOMPRESSED = 60 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
MAX_SESSION_JSON = 5 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ID_RE = re.compile(r"^session-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.\d{3}$")
_ZIP_MEMBER_RE = re.compile(r"^(?:([^/]+)/)?session\.json$")


class SessionFormatError(ValueError):
    """session.json (or its bundle) is malformed; `reason` says why, for the reader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SessionProblem:
    """Something looked like a session but could not be read."""

    reason: str
    files: tuple[FileItem, ...]  # the Slack files that looked like the session


@dataclass(frozen=True)
class SessionMatch:
    """What find_session found, plus the Slack files the session consumed."""

    result: Session | SessionProblem | None
    consumed: frozenset[str]  # file_ids not to be listed again as plain files


# ---------------------------------------------------------------- validation helpers


def is_plain_name(name: str) -> bool:
    """A bare file name: no path separators, no '..', not empty, no NUL."""
    return bool(name) and not any(bad in name for bad in ("/", "\\", "..", "\x00"))


def _plain_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_plain_name(value):
        raise SessionFormatError(f"{what} is not a plain file name: {value!r:.80}")
    return value


def _opt_str(data: Mapping[str, Any], key: str, what: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise SessionFormatError(f"{what} must be a string")
    return value or None


def _req_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise SessionFormatError(f"{what} is missing or not a string")
    return value


def _list_of_objects(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SessionFormatError(f'"{key}" must be a list of objects')
    return value


def _created_at(data: Mapping[str, Any]) -> datetime | None:
    raw = _opt_str(data, "created_at", '"created_at"')
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise SessionFormatError(f'"created_at" is not an RFC 3339 time: {raw!r:.60}') from None
    if parsed.tzinfo is None:
        raise SessionFormatError('"created_at" has no time zone')
    return parsed


def _session_id(data: Mapping[str, Any]) -> str:
    value = _req_str(data, "id", '"id"')
    if not _ID_RE.fullmatch(value):
        raise SessionFormatError(f'"id" is not a Xenocept session id: {value!r:.60}')
    return value


# ---------------------------------------------------------------- parsing


def _note(item: Mapping[str, Any], files: Mapping[str, bytes]) -> Note:
    index = item.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise SessionFormatError('a Note has no valid "index"')
    text = _req_str(item, "text", f"Note {index} text")
    side = _opt_str(item, "side", f"Note {index} side")
    focus = item.get("focus_image")
    if focus is None and f"focus-{index}.png" in files:
        focus = f"focus-{index}.png"
    focus_name = None if focus is None else _plain_name(focus, f"Note {index} focus_image")
    return Note(index=index, text=text, side=side, focus_image=focus_name)


def _load_json(files: Mapping[str, bytes]) -> Mapping[str, Any]:
    raw = files.get(SESSION_JSON)
    if raw is None:
        raise SessionFormatError("session.json is missing")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SessionFormatError(f"session.json is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SessionFormatError("session.json is not a JSON object")
    return data


def _images(names: Sequence[str], files: Mapping[str, bytes]) -> Mapping[str, bytes]:
    images: dict[str, bytes] = {}
    for name in names:
        content = files.get(name)
        if content is None:
            continue
        if not content.startswith(PNG_SIGNATURE):
            raise SessionFormatError(f"{name} is not a PNG image")
        images[name] = content
    return MappingProxyType(images)


def parse_session(files: Mapping[str, bytes]) -> Session:
    """Parse a session bundle (plain file name -> bytes); raise SessionFormatError."""
    data = _load_json(files)
    screenshot = _plain_name(data.get("screenshot", "screenshot.png"), '"screenshot"')
    notes = sorted(
        (_note(item, files) for item in _list_of_objects(data, "comments")),
        key=lambda note: note.index,
    )
    bubbles = [Bubble(_req_str(b, "text", "bubble")) for b in _list_of_objects(data, "bubbles")]
    texts = [FreeText(_req_str(t, "text", "text object")) for t in _list_of_objects(data, "texts")]
    focus_names = [note.focus_image for note in notes if note.focus_image]
    return Session(
        session_id=_session_id(data),
        created_at=_created_at(data),
        screenshot=screenshot,
        notes=tuple(notes),
        bubbles=tuple(bubbles),
        texts=tuple(texts),
        ocr_text=_opt_str(data, "ocr_text", '"ocr_text"'),
        alternative_description=_opt_str(
            data, "alternative_description", '"alternative_description"'
        ),
        images=_images([screenshot, *focus_names], files),
    )


# ---------------------------------------------------------------- zip bundles


def _zip_root(infos: Sequence[zipfile.ZipInfo]) -> str | None:
    """The folder prefix ("" or "name/") of the session.json in a zip, or None."""
    roots = sorted(
        match.group(1) or ""
        for info in infos
        if (match := _ZIP_MEMBER_RE.fullmatch(info.filename)) and match.group(1) != "__MACOSX"
    )
    if not roots:
        return None
    return roots[0] + "/" if roots[0] else ""


def _read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    if info.flag_bits & 0x1:
        raise SessionFormatError("the zip is encrypted")
    with archive.open(info) as member:
        data = member.read(budget + 1)
    if len(data) > budget:
        raise SessionFormatError("the zip unpacks to more than the allowed size")
    return data


def _zip_members(archive: zipfile.ZipFile, root: str) -> dict[str, bytes]:
    budget = MAX_ZIP_UNCOMPRESSED
    members: dict[str, bytes] = {}
    for info in archive.infolist():
        name = info.filename.removeprefix(root)
        if not info.filename.startswith(root) or info.is_dir() or not is_plain_name(name):
            continue
        if name != SESSION_JSON and not name.lower().endswith(".png"):
            continue
        members[name] = _read_limited(archive, info, budget)
        budget -= len(members[name])
    return members


def _open_zip(content: bytes) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


def _checked_members(archive: zipfile.ZipFile, root: str) -> dict[str, bytes]:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise SessionFormatError(f"the zip has more than {MAX_ZIP_ENTRIES} entries")
    if sum(info.file_size for info in infos) > MAX_ZIP_UNCOMPRESSED:
        raise SessionFormatError("the zip unpacks to more than the allowed size")
    try:
        return _zip_members(archive, root)
    except (zipfile.BadZipFile, NotImplementedError, EOFError, RuntimeError, zlib.error) as exc:
        raise SessionFormatError(f"the zip could not be read ({exc})") from None


def read_zip_session(content: bytes) -> dict[str, bytes] | None:
    """The session bundle inside a zip, or None when it is no zip or holds no session.

    Nothing is written to disk. Raises SessionFormatError when the zip holds a
    session that cannot be read safely (too big, too many entries, corrupt, encrypted).
    """
    archive = _open_zip(content)
    if archive is None:
        return None
    with archive:
        root = _zip_root(archive.infolist())
        return None if root is None else _checked_members(archive, root)


def _is_zip(item: FileItem) -> bool:
    return item.name.lower().endswith(".zip") or item.mimetype == "application/zip"


# ---------------------------------------------------------------- finding


def _loose_match(files: Sequence[FileItem], marker: FileItem) -> SessionMatch:
    if marker.content is None:
        reason = "session.json could not be downloaded from Slack"
        return SessionMatch(SessionProblem(reason, (marker,)), frozenset())
    bundle: dict[str, bytes] = {}
    for item in files:
        if item.content is not None and is_plain_name(item.name):
            bundle.setdefault(item.name, item.content)
    try:
        session = parse_session(bundle)
    except SessionFormatError as exc:
        return SessionMatch(SessionProblem(exc.reason, (marker,)), frozenset())
    used = {SESSION_JSON, *session.images}
    return SessionMatch(session, frozenset(f.file_id for f in files if f.name in used))


def _zip_match(item: FileItem) -> SessionMatch | None:
    if item.content is None:
        return None
    try:
        bundle = read_zip_session(item.content)
        if bundle is None:
            return None
        session = parse_session(bundle)
    except SessionFormatError as exc:
        return SessionMatch(SessionProblem(exc.reason, (item,)), frozenset())
    return SessionMatch(session, frozenset({item.file_id}))


def match_session(files: Sequence[FileItem]) -> SessionMatch:
    """Like find_session, and also says which files the session is made of."""
    marker = next((item for item in files if item.name == SESSION_JSON), None)
    if marker is not None:
        return _loose_match(files, marker)
    for item in files:
        if _is_zip(item) and (found := _zip_match(item)) is not None:
            return found
    return SessionMatch(None, frozenset())


def find_session(files: Sequence[FileItem]) -> Session | SessionProblem | None:
    """The session a message's files carry, a SessionProblem, or None."""
    return match_session(files).result


def may_hold_session(names: Sequence[str]) -> bool:
    """Whether files with these names can carry a session (before any is downloaded): a
    loose ``session.json``, or a zip (which the renderer opens to find out)."""
    return any(name == SESSION_JSON or name.lower().endswith(".zip") for name in names)
