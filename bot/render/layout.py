"""What one email shows, before any markup: the messages planned for rendering, the binary
parts they may carry, which of those fit, and the words shared by the HTML and plain-text
versions (times, sizes, what became of each file)."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import make_msgid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.render.headers import clean_filename, clean_mimetype
from bot.render.model import ChatMessage, Conversation, Directory, FileItem, Note, Section, Session
from bot.render.mrkdwn import to_html_and_plain
from bot.render.session import match_session
from storage.models import ScreenshotMode

CID_DOMAIN = "xenocept.local"
MAX_IMAGE_WIDTH = 640
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
# Slack shows consecutive messages by one person within a few minutes under one name.
GROUP_WINDOW = timedelta(minutes=5)

# Tiers decide which parts get the size budget first.
TIER_SCREENSHOT, TIER_FOCUS, TIER_FILE, TIER_COPY = range(4)


# ---------------------------------------------------------------- small formatting helpers


def format_time(moment: datetime) -> str:
    """e.g. "Tue 24 Nov 2026, 14:07" (independent of the process locale)."""
    day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
    return f"{day} {moment.day} {month} {moment.year}, {moment:%H:%M}"


def human_size(size: int) -> str:
    """e.g. "532 bytes", "12.5 KB", "1.2 MB" (decimal units, like macOS)."""
    if size < 1000:
        return "1 byte" if size == 1 else f"{max(size, 0)} bytes"
    value, unit = float(size), "bytes"
    for name in ("KB", "MB", "GB", "TB"):
        value, unit = value / 1000, name
        if round(value, 1) < 1000:
            break
    return f"{value:.1f} {unit}" if value < 99.95 else f"{value:.0f} {unit}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def zone_of(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def png_width(content: bytes) -> int | None:
    if content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
        return None
    width: int = struct.unpack(">I", content[16:20])[0]
    return width


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class Item:
    """A message ready to render: its session (if any) and the files still to list."""

    message: ChatMessage
    text: str
    session: Session | None = None
    problem: str | None = None
    files: tuple[FileItem, ...] = ()
    session_link: str | None = None


@dataclass(frozen=True)
class Asset:
    """One binary part the message may carry."""

    key: str
    owner: str
    filename: str
    mimetype: str
    content: bytes
    inline: bool
    tier: int
    cid: str = field(default_factory=lambda: make_msgid(domain=CID_DOMAIN))

    @property
    def cost(self) -> int:
        encoded = 4 * math.ceil(len(self.content) / 3)
        markup = 700 if self.inline else 0
        return encoded + 2 * math.ceil(encoded / 76) + 300 + 3 * len(self.filename) + markup


class RenderCache:
    """What stays the same across the builds of one render: each distinct Slack text
    converted once, to HTML and plain text together, and what a message without files
    shows in HTML (``views``, kept by ``html.py``).

    A render builds the email at least once and, when trimming to the size limit, many
    times; most of what each build needs was already worked out by the one before.
    """

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._done: dict[str, tuple[str, str]] = {}
        self.views: dict[tuple[int, bool, str | None], tuple[Item, object]] = {}

    def _both(self, text: str) -> tuple[str, str]:
        done = self._done.get(text)
        if done is None:
            done = self._done[text] = to_html_and_plain(text, self._directory)
        return done

    def html(self, text: str) -> str:
        return self._both(text)[0]

    def plain(self, text: str) -> str:
        return self._both(text)[1]


@dataclass(frozen=True)
class Layout:
    conversation: Conversation
    cache: RenderCache
    note: str | None
    subject: str
    mode: ScreenshotMode
    zone: tzinfo
    items: tuple[Item, ...]
    appendix: tuple[Section, ...] = ()
    omitted: int = 0
    assets: Mapping[str, Asset] = field(default_factory=dict)
    included: frozenset[str] = frozenset()

    def part(self, owner: str, inline: bool) -> Asset | None:
        asset = self.assets.get(f"{owner}#{'inline' if inline else 'file'}")
        return asset if asset is not None and asset.key in self.included else None


def file_owner(item: Item, file: FileItem) -> str:
    return f"{item.message.ts}/{file.file_id}"


def session_owner(item: Item, name: str) -> str:
    return f"{item.message.ts}/session/{name}"


def plan_item(message: ChatMessage) -> Item:
    found = match_session(message.files)
    listed = tuple(f for f in message.files if f.file_id not in found.consumed)
    if isinstance(found.result, Session):
        source = next((f for f in message.files if f.file_id in found.consumed), None)
        link = source.permalink if source else None
        return Item(message, message.text, found.result, None, listed, link)
    problem = found.result.reason if found.result is not None else None
    return Item(message, message.text, None, problem, listed)


def _is_image(mimetype: str, content: bytes) -> bool:
    magic = _IMAGE_MAGIC.get(mimetype.lower(), ())
    return any(content.startswith(prefix) for prefix in magic)


def _asset(owner: str, name: str, mimetype: str, content: bytes, inline: bool, tier: int) -> Asset:
    key = f"{owner}#{'inline' if inline else 'file'}"
    return Asset(key, owner, clean_filename(name), mimetype, content, inline, tier)


def _file_assets(item: Item) -> Iterator[Asset]:
    for file in item.files:
        if file.content is None:
            continue
        owner, mimetype = file_owner(item, file), "/".join(clean_mimetype(file.mimetype))
        if _is_image(mimetype, file.content):
            yield _asset(owner, file.name, mimetype, file.content, True, TIER_FILE)
            yield _asset(owner, file.name, mimetype, file.content, False, TIER_COPY)
        else:
            yield _asset(owner, file.name, mimetype, file.content, False, TIER_FILE)


def _session_assets(item: Item, session: Session, mode: ScreenshotMode) -> Iterator[Asset]:
    shot = session.images.get(session.screenshot)
    owner = session_owner(item, session.screenshot)
    if shot is not None and mode == ScreenshotMode.INLINE:
        yield _asset(owner, session.screenshot, "image/png", shot, True, TIER_SCREENSHOT)
        yield _asset(owner, session.screenshot, "image/png", shot, False, TIER_COPY)
    elif shot is not None:
        yield _asset(owner, session.screenshot, "image/png", shot, False, TIER_SCREENSHOT)
    for note in session.notes:
        content = session.images.get(note.focus_image or "")
        if note.focus_image and content is not None:
            owner = session_owner(item, note.focus_image)
            yield _asset(owner, note.focus_image, "image/png", content, True, TIER_FOCUS)


def plan_assets(items: Sequence[Item], mode: ScreenshotMode) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    for item in items:
        if item.session is not None:
            assets.update((a.key, a) for a in _session_assets(item, item.session, mode))
        assets.update((a.key, a) for a in _file_assets(item))
    return assets


def allocate(assets: Mapping[str, Asset], budget: int) -> frozenset[str]:
    chosen: set[str] = set()
    for asset in sorted(assets.values(), key=lambda a: (a.tier, a.cost)):
        if asset.cost <= budget:
            chosen.add(asset.key)
            budget -= asset.cost
    return frozenset(chosen)


# ---------------------------------------------------------------- words both versions share


def notices(layout: Layout) -> list[str]:
    found = list(layout.conversation.notices)
    if layout.omitted:
        found.append(_trim_notice(layout))
    return found


def _trim_notice(layout: Layout) -> str:
    count = layout.omitted
    verb = "message was" if count == 1 else "messages were"
    tail = f": {layout.conversation.permalink}" if layout.conversation.permalink else "."
    return (
        f"{count} {verb} left out to stay within the mail size limit — read the rest in Slack{tail}"
    )


def started_line(conversation: Conversation) -> str | None:
    """ "Thread started Tue 24 Nov 2026, 14:07 (Europe/Berlin) · 3 messages"."""
    if not conversation.messages:
        return None
    count = len(conversation.messages)
    if conversation.sections:
        first = format_time(conversation.messages[0].posted_at)
        return (
            f"{plural(conversation.sections, 'post')} since {first} "
            f"({conversation.time_zone}) · {plural(count, 'message')}"
        )
    verb = "Thread started" if count > 1 else "Posted"
    when = format_time(conversation.messages[0].posted_at)
    return f"{verb} {when} ({conversation.time_zone}) · {plural(count, 'message')}"


def file_status(layout: Layout, owner: str, file: FileItem) -> str:
    if layout.part(owner, inline=False) is not None:
        return "attached"
    if layout.part(owner, inline=True) is not None:
        return "shown below"
    if file.content is None:
        return "not downloaded — open it in Slack"
    return "too large for this email — open it in Slack"


def shot_text(layout: Layout, item: Item, session: Session) -> str:
    owner = session_owner(item, session.screenshot)
    if layout.part(owner, False) is not None:
        return f"Annotated screenshot attached: {session.screenshot}"
    if layout.part(owner, True) is not None:
        return f"Annotated screenshot: {session.screenshot} (shown in the HTML version)"
    if session.screenshot in session.images:
        return "The annotated screenshot was left out to stay within the mail size limit."
    return "The annotated screenshot is not part of this session."


def focus_part(layout: Layout, item: Item, note: Note) -> Asset | None:
    return layout.part(session_owner(item, note.focus_image), True) if note.focus_image else None


def session_meta(layout: Layout, session: Session) -> str:
    if session.created_at is None:
        return session.session_id
    created = format_time(session.created_at.astimezone(layout.zone))
    return f"{session.session_id} · created {created} ({layout.conversation.time_zone})"


def problem_text(reason: str) -> str:
    return f"The Xenocept session could not be read: {reason}"


def continues(layout: Layout, index: int) -> bool:
    """Whether item ``index`` goes under the previous item's name, as Slack groups them."""
    if index == 0 or (index == 1 and replies_marker(layout) is not None):
        return False  # the thread's first message and its first shown reply always get a name
    if layout.items[index].message.heading is not None:
        return False  # a digest's next session or thread starts afresh
    before, message = layout.items[index - 1].message, layout.items[index].message
    gap = message.posted_at - before.posted_at
    return (message.author, message.author_is_bot) == (
        before.author,
        before.author_is_bot,
    ) and timedelta(0) <= gap <= GROUP_WINDOW


def replies_marker(layout: Layout) -> str | None:
    replies = len(layout.conversation.messages) - 1
    if replies < 1 or not layout.items or layout.conversation.sections:
        return None
    text = plural(replies, "reply").replace("replys", "replies")
    if layout.omitted:
        text += f" ({layout.omitted} earlier left out)"
    return text
