"""Build the email for a forwarded Slack message or thread (with Xenocept sessions).

Structure (built with EmailMessage only):
multipart/mixed[ multipart/alternative[ text/plain, multipart/related[ text/html, images… ] ],
attachments… ] — the outer and related layers appear only when needed.
"""

from __future__ import annotations

import html
import math
import re
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.render.explainers import SESSION_GUIDE
from bot.render.headers import (
    ascii_address,
    clean_filename,
    clean_header,
    clean_mimetype,
    subject_header,
)
from bot.render.model import (
    ChatMessage,
    Conversation,
    Directory,
    FileItem,
    LegacyAttachment,
    Note,
    RenderedEmail,
    Section,
    Session,
)
from bot.render.mrkdwn import LINK_STYLE, safe_href, to_html_and_plain, to_plain, unescape
from bot.render.session import find_session, match_session

ScreenshotMode = Literal["inline", "attached"]

DEFAULT_SIZE_LIMIT = 28_319_744  # iCloud's advertised SMTP SIZE
SIZE_MARGIN = 0.02
CID_DOMAIN = "xenocept.local"
FONT_STACK = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
MONO_STACK = "Menlo,Consolas,'Courier New',monospace"
MAX_IMAGE_WIDTH = 640
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
_MSGID_RE = re.compile(r"^<[^<>\s]+@[^<>\s]+>$")
_MUTED = "color:#616061;font-size:12px"
_BOX = "border:1px solid #e1e1e1;border-radius:6px;padding:8px 10px;margin-top:6px"
_IMG = "display:block;max-width:100%;height:auto;border:1px solid #e1e1e1;border-radius:4px"
_RULE = "─" * 60
# Slack shows consecutive messages by one person within a few minutes under one name.
GROUP_WINDOW = timedelta(minutes=5)

# Tiers decide which parts get the size budget first.
_TIER_SCREENSHOT, _TIER_FOCUS, _TIER_FILE, _TIER_COPY = range(4)


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


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _multiline(text: str) -> str:
    return "<br>".join(_esc(line) for line in text.replace("\r\n", "\n").split("\n"))


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


def _link(url: str | None, label: str, style: str = LINK_STYLE) -> str:
    href = safe_href(url)
    if href is None:
        return _esc(label)
    return f'<a href="{_esc(href)}" style="{style}">{_esc(label)}</a>'


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _png_width(content: bytes) -> int | None:
    if content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
        return None
    width: int = struct.unpack(">I", content[16:20])[0]
    return width


def _img(cid: str, alt: str, content: bytes) -> str:
    width = _png_width(content)
    attr = f' width="{min(width, MAX_IMAGE_WIDTH)}"' if width else ""
    src = _esc("cid:" + cid.strip("<>"))
    return f'<img src="{src}" alt="{_esc(alt)}"{attr} style="{_IMG}">'


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Item:
    """A message ready to render: its session (if any) and the files still to list."""

    message: ChatMessage
    text: str
    session: Session | None = None
    problem: str | None = None
    files: tuple[FileItem, ...] = ()
    session_link: str | None = None


@dataclass(frozen=True)
class _Asset:
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


class _Markup:
    """Each distinct Slack text converted once per render, to HTML and plain text together.

    A render builds the email at least once and, when trimming to the size limit, many
    times; the conversion of the messages' mrkdwn is the same every time.
    """

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._done: dict[str, tuple[str, str]] = {}

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
class _Layout:
    conversation: Conversation
    markup: _Markup
    note: str | None
    subject: str
    mode: ScreenshotMode
    zone: tzinfo
    items: tuple[_Item, ...]
    appendix: tuple[Section, ...] = ()
    omitted: int = 0
    assets: Mapping[str, _Asset] = field(default_factory=dict)
    included: frozenset[str] = frozenset()

    def part(self, owner: str, inline: bool) -> _Asset | None:
        asset = self.assets.get(f"{owner}#{'inline' if inline else 'file'}")
        return asset if asset is not None and asset.key in self.included else None


def _file_owner(item: _Item, file: FileItem) -> str:
    return f"{item.message.ts}/{file.file_id}"


def _session_owner(item: _Item, name: str) -> str:
    return f"{item.message.ts}/session/{name}"


def _plan_item(message: ChatMessage) -> _Item:
    found = match_session(message.files)
    listed = tuple(f for f in message.files if f.file_id not in found.consumed)
    if isinstance(found.result, Session):
        source = next((f for f in message.files if f.file_id in found.consumed), None)
        link = source.permalink if source else None
        return _Item(message, message.text, found.result, None, listed, link)
    problem = found.result.reason if found.result is not None else None
    return _Item(message, message.text, None, problem, listed)


def _is_image(mimetype: str, content: bytes) -> bool:
    magic = _IMAGE_MAGIC.get(mimetype.lower(), ())
    return any(content.startswith(prefix) for prefix in magic)


def _asset(owner: str, name: str, mimetype: str, content: bytes, inline: bool, tier: int) -> _Asset:
    key = f"{owner}#{'inline' if inline else 'file'}"
    return _Asset(key, owner, clean_filename(name), mimetype, content, inline, tier)


def _file_assets(item: _Item) -> Iterator[_Asset]:
    for file in item.files:
        if file.content is None:
            continue
        owner, mimetype = _file_owner(item, file), "/".join(clean_mimetype(file.mimetype))
        if _is_image(mimetype, file.content):
            yield _asset(owner, file.name, mimetype, file.content, True, _TIER_FILE)
            yield _asset(owner, file.name, mimetype, file.content, False, _TIER_COPY)
        else:
            yield _asset(owner, file.name, mimetype, file.content, False, _TIER_FILE)


def _session_assets(item: _Item, session: Session, mode: ScreenshotMode) -> Iterator[_Asset]:
    shot = session.images.get(session.screenshot)
    owner = _session_owner(item, session.screenshot)
    if shot is not None and mode == "inline":
        yield _asset(owner, session.screenshot, "image/png", shot, True, _TIER_SCREENSHOT)
        yield _asset(owner, session.screenshot, "image/png", shot, False, _TIER_COPY)
    elif shot is not None:
        yield _asset(owner, session.screenshot, "image/png", shot, False, _TIER_SCREENSHOT)
    for note in session.notes:
        content = session.images.get(note.focus_image or "")
        if note.focus_image and content is not None:
            owner = _session_owner(item, note.focus_image)
            yield _asset(owner, note.focus_image, "image/png", content, True, _TIER_FOCUS)


def _assets(items: Sequence[_Item], mode: ScreenshotMode) -> dict[str, _Asset]:
    assets: dict[str, _Asset] = {}
    for item in items:
        if item.session is not None:
            assets.update((a.key, a) for a in _session_assets(item, item.session, mode))
        assets.update((a.key, a) for a in _file_assets(item))
    return assets


def _allocate(assets: Mapping[str, _Asset], budget: int) -> frozenset[str]:
    chosen: set[str] = set()
    for asset in sorted(assets.values(), key=lambda a: (a.tier, a.cost)):
        if asset.cost <= budget:
            chosen.add(asset.key)
            budget -= asset.cost
    return frozenset(chosen)


# ---------------------------------------------------------------- HTML: pieces


def _html_header_box(layout: _Layout) -> str:
    conv = layout.conversation
    count = len(conv.messages)
    started = ""
    if conv.messages:
        verb = "Thread started" if count > 1 else "Posted"
        when = format_time(conv.messages[0].posted_at)
        started = f"{verb} {_esc(when)} ({_esc(conv.time_zone)}) · {_plural(count, 'message')}"
    view = _link(conv.permalink, "View in Slack") if safe_href(conv.permalink) else ""
    return (
        '<div style="background:#f8f8f8;border:1px solid #e1e1e1;border-radius:8px;'
        'padding:12px 14px;margin-bottom:16px">'
        f'<div style="font-size:18px;font-weight:bold">{_esc(conv.title)}</div>'
        f'<div style="{_MUTED};margin-top:2px">{started}</div>'
        + (f'<div style="margin-top:6px;font-size:14px">{view}</div>' if view else "")
        + "</div>"
    )


def _html_note(note: str | None) -> str:
    if not note or not note.strip():
        return ""
    return (
        '<div style="border-left:4px solid #1264a3;background:#f2f8fc;padding:8px 12px;'
        'margin-bottom:16px"><div style="font-size:12px;font-weight:bold;color:#1264a3;'
        'text-transform:uppercase;letter-spacing:.5px">Note</div>'
        f"<div>{_multiline(note)}</div></div>"
    )


def _notices(layout: _Layout) -> list[str]:
    notices = list(layout.conversation.notices)
    if layout.omitted:
        notices.append(_trim_notice(layout))
    return notices


def _trim_notice(layout: _Layout) -> str:
    count = layout.omitted
    verb = "message was" if count == 1 else "messages were"
    tail = f": {layout.conversation.permalink}" if layout.conversation.permalink else "."
    return (
        f"{count} {verb} left out to stay within the mail size limit — read the rest in Slack{tail}"
    )


def _html_notice(text: str) -> str:
    return (
        '<div style="background:#fff8e1;border:1px solid #f2c94c;border-radius:6px;'
        f'padding:8px 12px;margin-bottom:8px;font-size:14px">⚠️ {_esc(text)}</div>'
    )


def _html_author(message: ChatMessage) -> str:
    badge = (
        ' <span style="font-size:10px;font-weight:bold;color:#616061;background:#e8e8e8;'
        'border-radius:2px;padding:0 3px">APP</span>'
        if message.author_is_bot
        else ""
    )
    link = ""
    if safe_href(message.permalink):
        link = " · " + _link(message.permalink, "link", _MUTED)
    when = f'<span style="{_MUTED}">{_esc(format_time(message.posted_at))}</span>'
    return f"<div><b>{_esc(message.author)}</b>{badge} {when}{link}</div>"


def _html_legacy(attachment: LegacyAttachment, layout: _Layout) -> str:
    title = unescape(attachment.title)
    parts = [f"<div><b>{_link(attachment.title_link, title)}</b></div>"] if title else []
    if attachment.text:
        parts.append(f"<div>{layout.markup.html(attachment.text)}</div>")
    if not parts and attachment.fallback:
        parts.append(f"<div>{_esc(unescape(attachment.fallback))}</div>")
    style = "border-left:4px solid #dddddd;padding:2px 0 2px 10px;margin-top:6px"
    return f'<div style="{style}">{"".join(parts)}</div>' if parts else ""


def _file_status(layout: _Layout, owner: str, file: FileItem) -> str:
    if layout.part(owner, inline=False) is not None:
        return "attached"
    if layout.part(owner, inline=True) is not None:
        return "shown below"
    if file.content is None:
        return "not downloaded — open it in Slack"
    return "too large for this email — open it in Slack"


def _html_file(layout: _Layout, item: _Item, file: FileItem) -> str:
    owner = _file_owner(item, file)
    status = _file_status(layout, owner, file)
    meta = f'<span style="{_MUTED}">· {human_size(file.size)} · {_esc(status)}</span>'
    inline = layout.part(owner, inline=True)
    image = ""
    if inline is not None:
        image = f'<div style="margin-top:6px">{_img(inline.cid, file.name, inline.content)}</div>'
    name = _link(file.permalink, file.name)
    return f'<div style="{_BOX};font-size:14px">📎 {name} {meta}{image}</div>'


# ---------------------------------------------------------------- HTML: sessions


def _html_shot(layout: _Layout, item: _Item, session: Session) -> str:
    owner = _session_owner(item, session.screenshot)
    inline, attached = layout.part(owner, True), layout.part(owner, False)
    name = _esc(session.screenshot)
    if inline is None:
        text = _esc(_shot_text(layout, item, session))
        return f'<div style="margin-top:8px;font-size:14px">{text}</div>'
    caption = f" ({name}, also attached)" if attached is not None else ""
    label = f'<div style="{_MUTED};margin-top:2px">Annotated screenshot{caption}</div>'
    image = _img(inline.cid, "Annotated screenshot", inline.content)
    return f'<div style="margin-top:8px">{image}{label}</div>'


def _shot_text(layout: _Layout, item: _Item, session: Session) -> str:
    owner = _session_owner(item, session.screenshot)
    if layout.part(owner, False) is not None:
        return f"Annotated screenshot attached: {session.screenshot}"
    if layout.part(owner, True) is not None:
        return f"Annotated screenshot: {session.screenshot} (shown in the HTML version)"
    if session.screenshot in session.images:
        return "The annotated screenshot was left out to stay within the mail size limit."
    return "The annotated screenshot is not part of this session."


def _focus_part(layout: _Layout, item: _Item, note: Note) -> _Asset | None:
    return layout.part(_session_owner(item, note.focus_image), True) if note.focus_image else None


def _html_note_item(layout: _Layout, item: _Item, session: Session, note: Note) -> str:
    side = f' <span style="{_MUTED}">· {_esc(note.side)}</span>' if note.side else ""
    focus = _focus_part(layout, item, note)
    image = ""
    if focus is not None:
        picture = _img(focus.cid, f"Close-up for Note {note.index + 1}", focus.content)
        image = f'<div style="margin-top:4px">{picture}</div>'
    elif note.focus_image in session.images:
        image = f'<div style="{_MUTED}">Close-up left out to stay within the mail size limit.</div>'
    return (
        f'<div style="margin-top:12px"><div><b>Note {note.index + 1}</b>{side}</div>'
        f"<div>{_multiline(note.text)}</div>{image}</div>"
    )


def _html_text_list(title: str, texts: Sequence[str]) -> str:
    if not texts:
        return ""
    items = "".join(f"<li>{_multiline(text)}</li>" for text in texts)
    return (
        f'<div style="margin-top:12px"><b>{title}</b>'
        f'<ul style="margin:4px 0;padding-left:24px">{items}</ul></div>'
    )


def _html_long_text(title: str, text: str | None) -> str:
    if not text:
        return ""
    return f'<div style="margin-top:12px"><b>{title}</b><div>{_multiline(text)}</div></div>'


def _session_meta(layout: _Layout, session: Session) -> str:
    if session.created_at is None:
        return session.session_id
    created = format_time(session.created_at.astimezone(layout.zone))
    return f"{session.session_id} · created {created} ({layout.conversation.time_zone})"


def _html_session(layout: _Layout, item: _Item, session: Session) -> str:
    files = ""
    if safe_href(item.session_link):
        files = " · " + _link(item.session_link, "files in Slack", _MUTED)
    parts = [
        '<div style="font-weight:bold">Xenocept session</div>',
        f'<div style="{_MUTED}">{_esc(_session_meta(layout, session))}{files}</div>',
        _html_shot(layout, item, session),
        *(_html_note_item(layout, item, session, note) for note in session.notes),
        _html_text_list("Bubbles", [b.text for b in session.bubbles]),
        _html_text_list("Texts", [t.text for t in session.texts]),
        _html_long_text("Text in the screenshot (OCR)", session.ocr_text),
        _html_long_text("Description", session.alternative_description),
    ]
    style = "border:1px solid #d0d7de;border-radius:8px;padding:12px;margin-top:8px"
    return f'<div style="{style}">{"".join(parts)}</div>'


# ---------------------------------------------------------------- HTML: document


def _problem_text(reason: str) -> str:
    return f"The Xenocept session could not be read: {reason}"


def _continues(layout: _Layout, index: int) -> bool:
    """Whether item ``index`` goes under the previous item's name, as Slack groups them."""
    if index == 0 or (index == 1 and _replies_marker(layout) is not None):
        return False  # the thread's first message and its first shown reply always get a name
    before, message = layout.items[index - 1].message, layout.items[index].message
    gap = message.posted_at - before.posted_at
    return (message.author, message.author_is_bot) == (
        before.author,
        before.author_is_bot,
    ) and timedelta(0) <= gap <= GROUP_WINDOW


def _html_continued(message: ChatMessage) -> str:
    link = " · " + _link(message.permalink, "link", _MUTED) if safe_href(message.permalink) else ""
    return f'<div style="{_MUTED}">{_esc(format_time(message.posted_at))}{link}</div>'


def _html_message(layout: _Layout, index: int) -> str:
    item = layout.items[index]
    continued = _continues(layout, index)
    parts = [_html_continued(item.message) if continued else _html_author(item.message)]
    if item.text:
        parts.append(f'<div style="margin-top:4px">{layout.markup.html(item.text)}</div>')
    parts.extend(_html_legacy(a, layout) for a in item.message.attachments)
    if item.session is not None:
        parts.append(_html_session(layout, item, item.session))
    if item.problem is not None:
        parts.append(_html_notice(_problem_text(item.problem)))
    parts.extend(_html_file(layout, item, f) for f in item.files)
    frame = "padding:2px 0 12px 0" if continued else "padding:12px 0;border-top:1px solid #e8e8e8"
    return f'<div style="{frame}">{"".join(parts)}</div>'


def _replies_marker(layout: _Layout) -> str | None:
    replies = len(layout.conversation.messages) - 1
    if replies < 1 or not layout.items:
        return None
    text = _plural(replies, "reply").replace("replys", "replies")
    if layout.omitted:
        text += f" ({layout.omitted} earlier left out)"
    return text


def _html_messages(layout: _Layout) -> str:
    blocks = [_html_message(layout, index) for index in range(len(layout.items))]
    marker = _replies_marker(layout)
    if marker is not None:
        divider = (
            f'<div style="{_MUTED};padding:6px 0;border-top:1px solid #e8e8e8">{_esc(marker)}</div>'
        )
        blocks.insert(1, divider)
    return "".join(blocks)


def _html_body(layout: _Layout) -> str:
    return (
        _html_header_box(layout)
        + _html_note(layout.note)
        + "".join(_html_notice(text) for text in _notices(layout))
        + _html_messages(layout)
        + "".join(_html_section(section) for section in layout.appendix)
    )


def _html_section(section: Section) -> str:
    items = "".join(f'<li style="margin:3px 0">{_esc(line)}</li>' for line in section.lines)
    return (
        '<div style="border-top:1px solid #e8e8e8;margin-top:16px;padding-top:10px">'
        f'<div style="font-size:16px;font-weight:bold">{_esc(section.title)}</div>'
        f'<ul style="margin:6px 0 0 0;padding-left:20px">{items}</ul></div>'
    )


def _html_document(layout: _Layout) -> str:
    cell = f"padding:20px;font-family:{FONT_STACK};font-size:15px;line-height:1.46;color:#1d1c1d"
    table = 'role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_esc(layout.subject)}</title></head>\n"
        '<body style="margin:0;padding:0;background-color:#f4f4f5">\n'
        f'<table {table} style="background-color:#f4f4f5"><tr><td align="center" '
        'style="padding:16px 8px">\n'
        f'<table {table} style="max-width:680px;background-color:#ffffff;'
        'border:1px solid #e1e1e1;border-radius:8px">'
        f'<tr><td style="{cell}">\n{_html_body(layout)}\n</td></tr></table>\n'
        f'<div style="font-family:{FONT_STACK};{_MUTED};padding:10px">'
        "Forwarded from Slack with Xenocept for Slack</div>\n"
        "</td></tr></table>\n</body></html>\n"
    )


# ---------------------------------------------------------------- plain text


def _plain_header(layout: _Layout) -> list[str]:
    conv = layout.conversation
    lines = [conv.title]
    if conv.messages:
        verb = "Thread started" if len(conv.messages) > 1 else "Posted"
        when = format_time(conv.messages[0].posted_at)
        count = _plural(len(conv.messages), "message")
        lines.append(f"{verb} {when} ({conv.time_zone}) · {count}")
    if safe_href(conv.permalink):
        lines.append(f"View in Slack: {conv.permalink}")
    return lines


def _plain_legacy(attachment: LegacyAttachment, layout: _Layout) -> str:
    title = unescape(attachment.title)
    lines = [f"{title} ({attachment.title_link})" if title and attachment.title_link else title]
    if attachment.text:
        lines.append(layout.markup.plain(attachment.text))
    if not any(lines):
        lines = [unescape(attachment.fallback)]
    text = "\n".join(line for line in lines if line)
    return _indent(text, "| ") if text else ""


def _plain_files(layout: _Layout, item: _Item) -> str:
    lines = ["Files:"]
    for file in item.files:
        status = _file_status(layout, _file_owner(item, file), file)
        link = f" — {file.permalink}" if safe_href(file.permalink) else ""
        lines.append(f"  • {file.name} — {human_size(file.size)} — {status}{link}")
    return "\n".join(lines)


def _plain_note_item(layout: _Layout, item: _Item, session: Session, note: Note) -> str:
    side = f" ({note.side})" if note.side else ""
    lines = [f"Note {note.index + 1}{side}:", _indent(note.text)]
    if _focus_part(layout, item, note) is not None:
        lines.append(f"  [close-up: {note.focus_image}, shown in the HTML version]")
    elif note.focus_image in session.images:
        lines.append("  [close-up left out to stay within the mail size limit]")
    return "\n".join(lines)


def _plain_list(title: str, texts: Sequence[str]) -> list[str]:
    if not texts:
        return []
    items = ("  • " + text.replace("\n", "\n    ") for text in texts)
    return [f"{title}:\n" + "\n".join(items)]


def _plain_long(title: str, text: str | None) -> list[str]:
    return [f"{title}:\n{_indent(text)}"] if text else []


def _plain_session(layout: _Layout, item: _Item, session: Session) -> str:
    parts = [
        f"Xenocept session {_session_meta(layout, session)}",
        _shot_text(layout, item, session),
        *(_plain_note_item(layout, item, session, note) for note in session.notes),
        *_plain_list("Bubbles", [b.text for b in session.bubbles]),
        *_plain_list("Texts", [t.text for t in session.texts]),
        *_plain_long("Text in the screenshot (OCR)", session.ocr_text),
        *_plain_long("Description", session.alternative_description),
    ]
    if safe_href(item.session_link):
        parts.insert(1, f"Session files in Slack: {item.session_link}")
    return "\n\n".join(parts)


def _plain_message(layout: _Layout, index: int) -> str:
    # No per-message link: the thread's link heads the email; the HTML part keeps them.
    item = layout.items[index]
    message = item.message
    app = " (app)" if message.author_is_bot else ""
    parts = (
        []
        if _continues(layout, index)
        else [f"{_RULE}\n{message.author}{app} — {format_time(message.posted_at)}"]
    )
    if item.text:
        parts.append(layout.markup.plain(item.text))
    parts.extend(filter(None, (_plain_legacy(a, layout) for a in message.attachments)))
    if item.session is not None:
        parts.append(_plain_session(layout, item, item.session))
    if item.problem is not None:
        parts.append("! " + _problem_text(item.problem))
    if item.files:
        parts.append(_plain_files(layout, item))
    return "\n\n".join(parts)


def _plain_document(layout: _Layout) -> str:
    sections = ["\n".join(_plain_header(layout))]
    if layout.note and layout.note.strip():
        sections.append("Note:\n" + _indent(layout.note.replace("\r\n", "\n")))
    sections.extend("! " + text for text in _notices(layout))
    messages = [_plain_message(layout, index) for index in range(len(layout.items))]
    marker = _replies_marker(layout)
    if marker is not None:
        messages.insert(1, f"[{marker}]")
    sections.extend(messages)
    sections.extend(
        f"{_RULE}\n{section.title}\n" + "\n".join(f"- {line}" for line in section.lines)
        for section in layout.appendix
    )
    sections.append("-- \nForwarded from Slack with Xenocept for Slack")
    return "\n\n".join(sections) + "\n"


# ---------------------------------------------------------------- MIME


@dataclass(frozen=True)
class _Envelope:
    subject: str
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    references: tuple[str, ...]
    sent_at: datetime


def _check_msgid(value: str) -> str:
    if not _MSGID_RE.fullmatch(value):
        raise ValueError(f"not a Message-ID: {value!r:.80}")
    return value


def _set_headers(message: EmailMessage, env: _Envelope) -> None:
    message["From"] = ascii_address(env.sender)
    message["To"] = ", ".join(ascii_address(r) for r in env.recipients)
    message["Subject"] = subject_header(env.subject)
    message["Date"] = format_datetime(env.sent_at)
    message["Message-ID"] = _check_msgid(env.message_id)
    if env.references:
        message["References"] = " ".join(_check_msgid(ref) for ref in env.references)
        message["In-Reply-To"] = env.references[0]


def _add_parts(message: EmailMessage, layout: _Layout) -> None:
    chosen = [a for a in layout.assets.values() if a.key in layout.included]
    html_part = message.get_body(("html",))
    for asset in (a for a in chosen if a.inline):
        maintype, subtype = asset.mimetype.split("/")
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            asset.content,
            maintype,
            subtype,
            cid=asset.cid,
            filename=asset.filename,
            disposition="inline",
        )
    for asset in (a for a in chosen if not a.inline):
        maintype, subtype = asset.mimetype.split("/")
        message.add_attachment(asset.content, maintype, subtype, filename=asset.filename)


def _build(layout: _Layout, env: _Envelope) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    _set_headers(message, env)
    message.set_content(_plain_document(layout), cte="quoted-printable")
    message.add_alternative(_html_document(layout), subtype="html", cte="quoted-printable")
    _add_parts(message, layout)
    return message


class _Builder:
    """Builds layouts for one render, measuring each; the last one is kept.

    The fitting steps measure the same layout again (text fits → assets none → final), so
    remembering the last build turns three builds and serialisations into one. Only one is
    kept: the trimming searches build many large candidates.
    """

    def __init__(self, env: _Envelope) -> None:
        self.env = env
        self._last: tuple[tuple[object, ...], _Layout, EmailMessage, int] | None = None

    def build(self, layout: _Layout) -> tuple[EmailMessage, int]:
        # Within one render only the items, the omitted count and the included parts vary
        # (the assets are computed once), so they identify what a build produces.
        key = (tuple(id(item) for item in layout.items), layout.omitted, layout.included)
        if self._last is None or self._last[0] != key:
            message = _build(layout, self.env)
            # ``layout`` is kept so the ids in ``key`` stay those of live items.
            self._last = (key, layout, message, len(message.as_bytes()))
        return self._last[2], self._last[3]

    def size(self, layout: _Layout) -> int:
        return self.build(layout)[1]


# ---------------------------------------------------------------- fitting into the size limit


def _smallest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """Smallest x in [low, high] with fits(x), fits being monotone; None when none fits."""
    if low > high or not fits(high):
        return None
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low


def _drop_replies(layout: _Layout, base: tuple[_Item, ...], count: int) -> _Layout:
    return replace(layout, items=base[:1] + base[1 + count :], omitted=count)


def _shorten(item: _Item, cut: int) -> _Item:
    kept = item.text[: max(len(item.text) - cut, 0)].rstrip()
    return replace(item, text=kept + "… [shortened to fit the mail size limit]")


def _fit_parent(layout: _Layout, builder: _Builder, limit: int) -> _Layout:
    parent = layout.items[0]

    def shortened(cut: int) -> _Layout:
        return replace(layout, items=(_shorten(parent, cut),))

    cut = _smallest(1, len(parent.text), lambda n: builder.size(shortened(n)) <= limit)
    if cut is not None:
        return shortened(cut)
    return replace(layout, items=(), omitted=len(layout.conversation.messages))


def _fit_text(layout: _Layout, builder: _Builder, limit: int) -> _Layout:
    """Leave out the oldest replies (then shorten the parent) until the text fits."""
    if not layout.items or builder.size(layout) <= limit:
        return layout
    base = layout.items

    def fits(count: int) -> bool:
        return builder.size(_drop_replies(layout, base, count)) <= limit

    count = _smallest(1, len(base) - 1, fits)
    if count is not None:
        return _drop_replies(layout, base, count)
    return _fit_parent(_drop_replies(layout, base, len(base) - 1), builder, limit)


def _fit_assets(layout: _Layout, builder: _Builder, limit: int) -> _Layout:
    """Attach files greedily within the budget, then drop the largest until it really fits."""
    assets = _assets(layout.items, layout.mode)
    layout = replace(layout, assets=assets)
    included = _allocate(assets, limit - builder.size(layout))
    candidate = replace(layout, included=included)
    while included and builder.size(candidate) > limit:
        largest = max(included, key=lambda key: assets[key].cost)
        included = included - {largest}
        candidate = replace(layout, included=included)
    return candidate


# ---------------------------------------------------------------- public API


def _counts(layout: _Layout) -> tuple[int, int]:
    owners = {a.owner for a in layout.assets.values()}
    files = [(_file_owner(i, f), f) for i in layout.items for f in i.files]
    all_owners = owners | {owner for owner, _ in files}
    used = {layout.assets[key].owner for key in layout.included}
    return len(used), len(all_owners - used)


def render_email(
    *,
    conversation: Conversation,
    note: str | None,
    subject: str,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    references: Sequence[str],
    sent_at: datetime,
    screenshot_mode: ScreenshotMode = "inline",
    size_limit: int = DEFAULT_SIZE_LIMIT,
    appendix: Sequence[Section] = (),
) -> RenderedEmail:
    """Render a conversation as one email that stays within `size_limit` bytes."""
    cleaned = clean_header(subject) or default_subject(conversation)
    env = _Envelope(cleaned, sender, tuple(recipients), message_id, tuple(references), sent_at)
    layout = _Layout(
        conversation=conversation,
        markup=_Markup(conversation.directory),
        note=note,
        subject=cleaned,
        mode=screenshot_mode,
        zone=_zone(conversation.time_zone),
        items=tuple(_plan_item(m) for m in conversation.messages),
        appendix=(*appendix, *_guides(conversation)),
    )
    limit = int(size_limit * (1 - SIZE_MARGIN))
    builder = _Builder(env)
    layout = _fit_assets(_fit_text(layout, builder, limit), builder, limit)
    message, size = builder.build(layout)
    attached, linked = _counts(layout)
    return RenderedEmail(message, size, attached, linked, layout.omitted)


def _guides(conversation: Conversation) -> tuple[Section, ...]:
    """How to read a session forwarded from Slack (the test send explains itself)."""
    return (SESSION_GUIDE,) if conversation.permalink and session_in(conversation) else ()


# ---------------------------------------------------------------- subjects


def _snippet(text: str, words: int = 8, chars: int = 60) -> str:
    parts = text.split()
    short = " ".join(parts[:words])
    if len(short) > chars:
        return short[:chars].rstrip() + "…"
    return short + "…" if len(parts) > words else short


def session_in(conversation: Conversation) -> Session | None:
    """The first Xenocept session the conversation carries, if any."""
    for message in conversation.messages:
        found = find_session(message.files)
        if isinstance(found, Session):
            return found
    return None


def default_subject(conversation: Conversation) -> str:
    """ "Xenocept: first Note…" for sessions, else "#channel: first words…"."""
    session = session_in(conversation)
    if session is not None:
        first = next((n.text.strip() for n in session.notes if n.text.strip()), "")
        headline = first.split("\n")[0] if first else session.session_id
        return clean_header("Xenocept: " + _snippet(headline, words=1000))
    if not conversation.messages:
        return clean_header(conversation.title) or "Slack message"
    first_message = conversation.messages[0]
    snippet = _snippet(to_plain(first_message.text, conversation.directory))
    if not snippet and first_message.files:
        snippet = _snippet(first_message.files[0].name)
    title = clean_header(conversation.title)
    return clean_header(f"{title}: {snippet}" if snippet else title) or "Slack message"
