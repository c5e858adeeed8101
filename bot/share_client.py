"""``xenocept share``: the desktop side of sharing, posting sessions to the bot's
``POST /xenocept/v1/sessions``.

``share PATH`` posts one session folder or zip. ``share --watch DIR`` watches the folder
Xenocept's File destination writes to and posts each new session once:

- a folder counts once ``session.json`` parses and every file it names is there, with
  sizes and times unchanged across two looks (Xenocept writes file by file); a zip once
  it opens as one and is unchanged across two looks;
- what was posted is kept in a state file (written whole, then renamed over the old one),
  so a restart posts nothing twice; the bot answers a repeat with the first post too;
- an unreachable or busy bot is retried with backoff (1 s doubling to 60 s, or the bot's
  Retry-After when longer, as after a key's hourly limit); a refused
  key or channel stops with one sentence (exit 2); a refused session is remembered and
  skipped until it changes.

The key is sent only in the Authorization header and never printed or logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import platformdirs

from bot.errors import ShareClientError, ShareStopped
from bot.render.session import (
    CLEAN_SCREENSHOT,
    SESSION_JSON,
    SessionFormatError,
    is_plain_name,
    read_zip_session,
)
from bot.share_http import SESSIONS_PATH, TO_FIELD
from bot.share_keys import parse_share_key

BACKOFF_FIRST, BACKOFF_MOST = 1.0, 60.0
SINGLE_ATTEMPTS = 5  # `share PATH`: about 30 s of retries, then exit 1
RETRY_AFTER_MOST = 3600.0
STOPPING = frozenset({401, 403})  # the key or the channel: every session would fail alike
RETRYING = frozenset({408, 429, 500, 502, 503, 504})
TIMEOUT = aiohttp.ClientTimeout(total=120, connect=10)

Say = Callable[[str], None]
Signature = tuple[tuple[str, int, int], ...]  # (name, size, mtime_ns) of what is sent


@dataclass(frozen=True)
class ShareTarget:
    server: str  # the bot's address; the endpoint's path is added
    key: str = field(repr=False)
    to: str  # a channel, or "" / "@me" for the DM with the app

    @property
    def url(self) -> str:
        base = self.server.rstrip("/")
        return base if base.endswith(SESSIONS_PATH) else base + SESSIONS_PATH


def checked_target(server: str | None, key: str | None, to: str | None) -> ShareTarget:
    """The target from flags or environment; ``ShareClientError`` (one sentence) if not
    usable. The key's text is never part of the sentence."""
    if not server:
        raise ShareClientError("say where the bot is: --server https://… or XENOCEPT_SHARE_SERVER")
    if not server.lower().startswith(("http://", "https://")):
        raise ShareClientError(
            f"--server must be the bot's http(s) address, like https://xenocept.example.com "
            f"(got {server[:80]!r})"
        )
    if not key:
        raise ShareClientError(
            "give your share key: --key or XENOCEPT_SHARE_KEY (make one with "
            "/xenocept connect in Slack)"
        )
    if parse_share_key(key) is None:
        raise ShareClientError(
            "that is not a share key (they start with xsk_ and come from /xenocept connect "
            "in Slack): copy it again"
        )
    return ShareTarget(server=server.strip(), key=key.strip(), to=(to or "").strip())


# ------------------------------------------------------------------ what a session is


@dataclass(frozen=True)
class Candidate:
    """A session on disk: its files (a folder's, by plain name) or one zip."""

    path: Path
    session_id: str | None  # from session.json; None when it cannot be read
    files: tuple[Path, ...]
    complete: bool  # every file session.json names is present
    signature: Signature


def _stat(paths: tuple[Path, ...]) -> Signature | None:
    try:
        return tuple((p.name, (s := p.stat()).st_size, s.st_mtime_ns) for p in sorted(paths))
    except OSError:  # removed or renamed while we looked
        return None


def _named(data: dict[str, Any], present: set[str]) -> list[str]:
    """The plain names session.json asks for. A name that is not plain is left out (the
    bot then says which): nothing outside the folder is ever read."""
    names = [data.get("screenshot", "screenshot.png")]
    comments = data.get("comments")
    for note in comments if isinstance(comments, list) else []:
        if not isinstance(note, dict):
            continue
        focus = note.get("focus_image")
        if focus is None and f"focus-{note.get('index')}.png" in present:
            focus = f"focus-{note.get('index')}.png"
        if focus is not None:
            names.append(focus)
    return [n for n in names if isinstance(n, str) and is_plain_name(n)]


def folder_candidate(folder: Path) -> Candidate | None:
    marker = folder / SESSION_JSON
    try:
        raw = marker.read_bytes()
        present = {p.name for p in folder.iterdir() if p.is_file()}
    except OSError:
        return None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):  # half-written, or never a session: stable → the bot says
        signature = _stat((marker,))
        return None if signature is None else Candidate(folder, None, (marker,), True, signature)
    names = _named(data, present)
    wanted = [SESSION_JSON, *dict.fromkeys(names)]
    if CLEAN_SCREENSHOT in present:
        wanted.append(CLEAN_SCREENSHOT)
    files = tuple(folder / name for name in wanted if name in present)
    signature = _stat(files)
    if signature is None:
        return None
    session_id = data.get("id") if isinstance(data.get("id"), str) else None
    complete = all(name in present for name in names)
    return Candidate(folder, session_id, files, complete, signature)


def zip_candidate(path: Path) -> Candidate | None:
    signature = _stat((path,))
    if signature is None or not zipfile.is_zipfile(path):  # a zip still being written
        return None
    return Candidate(path, _zip_session_id(path), (path,), True, signature)


def _zip_session_id(path: Path) -> str | None:
    """The id in the zip's session.json, found as the bot finds it (``read_zip_session``:
    the same root folder and limits); None when it cannot be read."""
    try:
        bundle = read_zip_session(path.read_bytes())
        data = json.loads(bundle[SESSION_JSON].decode("utf-8-sig")) if bundle else None
    except (OSError, SessionFormatError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def candidate_at(path: Path) -> Candidate | None:
    if path.is_dir():
        return folder_candidate(path)
    if path.suffix.lower() == ".zip":
        return zip_candidate(path)
    return None


def entries_in(folder: Path) -> list[Path]:
    """What directly inside ``folder`` may be a session, by name (not hidden files)."""
    try:
        return sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))
    except OSError:
        return []


def candidates_in(folder: Path) -> Iterator[Candidate]:
    """Each session folder and zip directly inside ``folder``, by name."""
    for entry in entries_in(folder):
        found = candidate_at(entry)
        if found is not None:
            yield found


def _look(entry: Path) -> Signature | None:
    """Every file's name, size and time in a folder (or of a zip), read without opening
    any: a session already dealt with is not read again until one of these changes."""
    try:
        if entry.is_dir():
            stats = [(e.name, e.stat()) for e in os.scandir(entry) if e.is_file()]
        else:
            stats = [(entry.name, entry.stat())]
    except OSError:
        return None
    return tuple(sorted((name, s.st_size, s.st_mtime_ns) for name, s in stats))


# ------------------------------------------------------------------ remembering


class ShareState:
    """What was posted (by session and target) and refused (by path and contents)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.posted: dict[str, dict[str, Any]] = {}
        self.refused: dict[str, str] = {}
        self.existed = path.exists()
        if self.existed:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise ShareClientError(
                    f"the state file {path} cannot be read ({type(error).__name__}): move it "
                    "away to start afresh (sessions in the folder are then left as they are)"
                ) from None
            self.posted = dict(data.get("posted") or {})
            self.refused = dict(data.get("refused") or {})

    @staticmethod
    def posted_key(candidate: Candidate, to: str) -> str:
        what = candidate.session_id or f"{candidate.path.name}:{_digest(candidate.signature)}"
        return f"{to}\t{what}"

    @staticmethod
    def refused_key(candidate: Candidate) -> str:
        return f"{candidate.path}\t{_digest(candidate.signature)}"

    def is_done(self, candidate: Candidate, to: str) -> bool:
        return (
            self.posted_key(candidate, to) in self.posted
            or self.refused_key(candidate) in self.refused
        )

    def remember_posted(self, candidate: Candidate, to: str, permalink: str | None) -> None:
        self.posted[self.posted_key(candidate, to)] = {
            "path": str(candidate.path),
            "permalink": permalink,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.save()

    def remember_refused(self, candidate: Candidate, sentence: str) -> None:
        self.refused[self.refused_key(candidate)] = sentence
        self.save()

    def save(self) -> None:
        """Written whole beside the old file, then renamed over it: never half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"posted": self.posted, "refused": self.refused}, indent=1)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".share-state-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.existed = True


def _digest(signature: Signature) -> str:
    return hashlib.sha256(repr(signature).encode()).hexdigest()[:16]


def default_state_file(target: ShareTarget, folder: Path) -> Path:
    """One state file per server, channel and folder, in the user's state directory."""
    what = f"{target.url}\n{target.to}\n{folder.resolve()}".encode()
    name = f"share-{hashlib.sha256(what).hexdigest()[:16]}.json"
    return Path(platformdirs.user_state_dir("xenocept")) / name


# ------------------------------------------------------------------ posting


@dataclass(frozen=True)
class Answer:
    status: int  # 0: the bot could not be reached
    sentence: str  # the bot's error sentence, or what went wrong reaching it
    permalink: str | None = None
    again: bool = False
    retry_after: float = 0.0  # the bot's Retry-After, seconds (its hourly limit, an outage)

    @property
    def posted(self) -> bool:
        return self.status in (200, 202)

    @property
    def retry(self) -> bool:
        return self.status == 0 or self.status in RETRYING


async def post_session(
    http: aiohttp.ClientSession, target: ShareTarget, candidate: Candidate
) -> Answer:
    form = aiohttp.FormData()
    form.add_field(TO_FIELD, target.to)
    try:
        for path in candidate.files:
            kind = "application/zip" if path.suffix.lower() == ".zip" else _kind(path.name)
            content = io.BytesIO(path.read_bytes())  # aiohttp streams a file-like body
            form.add_field("file", content, filename=path.name, content_type=kind)
    except OSError as error:
        return Answer(0, f"{candidate.path} could not be read ({error.strerror})")
    headers = {"Authorization": f"Bearer {target.key}"}
    try:
        async with http.post(target.url, data=form, headers=headers) as response:
            body = await _json_body(response)
    except (aiohttp.ClientError, TimeoutError) as error:
        return Answer(0, f"the bot at {target.server} cannot be reached ({type(error).__name__})")
    if response.status in (200, 202) and body.get("ok"):
        permalink = body.get("permalink")
        return Answer(
            response.status,
            "",
            permalink=permalink if isinstance(permalink, str) else None,
            again=bool(body.get("again")),
        )
    sentence = body.get("error")
    if not isinstance(sentence, str) or not sentence:
        sentence = f"the bot answered HTTP {response.status}"
    return Answer(response.status, sentence, retry_after=_seconds(response.headers))


def _seconds(headers: Mapping[str, str]) -> float:
    value = headers.get("Retry-After", "")
    return min(float(value), RETRY_AFTER_MOST) if value.isdigit() else 0.0


def _kind(name: str) -> str:
    return "application/json" if name.endswith(".json") else "image/png"


async def _json_body(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return {}
    return body if isinstance(body, dict) else {}


class Backoff:
    def __init__(self, first: float = BACKOFF_FIRST, most: float = BACKOFF_MOST) -> None:
        self.first, self.most, self.next = first, most, first

    def wait(self) -> float:
        wait, self.next = self.next, min(self.most, self.next * 2)
        return wait

    def reset(self) -> None:
        self.next = self.first


def _retrying(answer: Answer, wait: float) -> str:
    return f"{answer.sentence.rstrip('.')}; retrying in {wait:.0f} s"


def _posted_line(candidate: Candidate, answer: Answer) -> str:
    where = answer.permalink or "Slack (no link yet)"
    what = candidate.session_id or candidate.path.name
    return f"{'already posted' if answer.again else 'posted'} {what}: {where}"


async def share_once(
    target: ShareTarget,
    path: Path,
    *,
    say: Say = print,
    attempts: int = SINGLE_ATTEMPTS,
    backoff: Backoff | None = None,
) -> int:
    """``xenocept share PATH``: 0 posted (the link printed), 1 not, 2 key or channel."""
    candidate = candidate_at(path)
    if candidate is None:
        say(f"{path} is not a session folder (with session.json) or a .zip of one.")
        return 1
    backoff = backoff or Backoff()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for attempt in range(1, attempts + 1):
            answer = await post_session(http, target, candidate)
            if answer.posted:
                say(_posted_line(candidate, answer))
                return 0
            if not answer.retry or attempt == attempts:
                say(answer.sentence)
                return 2 if answer.status in STOPPING else 1
            wait = max(backoff.wait(), answer.retry_after)
            say(_retrying(answer, wait))
            await asyncio.sleep(wait)
    return 1


async def watch(
    target: ShareTarget,
    folder: Path,
    state: ShareState,
    *,
    interval: float = 2.0,
    include_existing: bool = False,
    say: Say = print,
    backoff: Backoff | None = None,
    after_pass: Callable[[], None] | None = None,
) -> None:
    """Post each new complete session in ``folder`` once, until cancelled; raises
    ``ShareStopped`` when the bot refuses the key or the channel. ``after_pass`` is
    called after each look at the folder (tests await it instead of sleeping)."""
    backoff = backoff or Backoff()
    if not state.existed and not include_existing:
        _leave_existing(target, folder, state, say)
    looked: dict[Path, Signature] = {}  # the last look at a session still being written
    settled: dict[Path, Signature | None] = {}  # done (posted, refused): how it looked
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        while True:
            pause = interval
            for entry in entries_in(folder):
                look = _look(entry)
                if look is not None and settled.get(entry) == look:
                    continue
                candidate = candidate_at(entry)
                if candidate is None or not candidate.complete:
                    continue
                if state.is_done(candidate, target.to):
                    settled[entry] = look
                    continue
                if looked.get(candidate.path) != candidate.signature:  # still being written?
                    looked[candidate.path] = candidate.signature
                    continue
                answer = await post_session(http, target, candidate)
                if answer.posted:
                    backoff.reset()
                    state.remember_posted(candidate, target.to, answer.permalink)
                    settled[entry] = look
                    say(_posted_line(candidate, answer))
                elif answer.status in STOPPING:
                    raise ShareStopped(answer.sentence)
                elif answer.retry:
                    pause = max(backoff.wait(), answer.retry_after)
                    say(_retrying(answer, pause))
                    break
                else:
                    state.remember_refused(candidate, answer.sentence)
                    settled[entry] = look
                    say(f"{candidate.path.name} was not posted: {answer.sentence}")
            if after_pass is not None:
                after_pass()
            await asyncio.sleep(pause)


def _leave_existing(target: ShareTarget, folder: Path, state: ShareState, say: Say) -> None:
    """A first watch posts what comes next, not a folder's history."""
    existing = [c for c in candidates_in(folder) if c.complete]
    for candidate in existing:
        state.posted[state.posted_key(candidate, target.to)] = {
            "path": str(candidate.path),
            "permalink": None,
            "at": "before watching",
        }
    state.save()
    if existing:
        say(
            f"{len(existing)} session(s) already in {folder} are left as they are "
            "(share one with `xenocept share PATH`, or all with --include-existing)."
        )
