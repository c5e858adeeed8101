"""The plain-text version of the email. It stays in Python: its layout is blank lines and
indentation, which join logic says more plainly than a template would."""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.layout import (
    Item,
    Layout,
    continues,
    file_owner,
    file_status,
    focus_part,
    format_time,
    human_size,
    notices,
    problem_text,
    replies_marker,
    session_meta,
    shot_text,
    started_line,
)
from bot.render.model import LegacyAttachment, Note, Session
from bot.render.mrkdwn import safe_href, unescape

_RULE = "─" * 60


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


def _header(layout: Layout) -> list[str]:
    conversation = layout.conversation
    lines = [conversation.title]
    started = started_line(conversation)
    if started is not None:
        lines.append(started)
    if safe_href(conversation.permalink):
        lines.append(f"View in Slack: {conversation.permalink}")
    return lines


def _legacy(attachment: LegacyAttachment, layout: Layout) -> str:
    title = unescape(attachment.title)
    lines = [f"{title} ({attachment.title_link})" if title and attachment.title_link else title]
    if attachment.text:
        lines.append(layout.cache.plain(attachment.text))
    if not any(lines):
        lines = [unescape(attachment.fallback)]
    text = "\n".join(line for line in lines if line)
    return _indent(text, "| ") if text else ""


def _files(layout: Layout, item: Item) -> str:
    lines = ["Files:"]
    for file in item.files:
        status = file_status(layout, file_owner(item, file), file)
        link = f" — {file.permalink}" if safe_href(file.permalink) else ""
        lines.append(f"  • {file.name} — {human_size(file.size)} — {status}{link}")
    return "\n".join(lines)


def _note(layout: Layout, item: Item, session: Session, note: Note) -> str:
    side = f" ({note.side})" if note.side else ""
    lines = [f"Note {note.index + 1}{side}:", _indent(note.text)]
    if focus_part(layout, item, note) is not None:
        lines.append(f"  [close-up: {note.focus_image}, shown in the HTML version]")
    elif note.focus_image in session.images:
        lines.append("  [close-up left out to stay within the mail size limit]")
    return "\n".join(lines)


def _list(title: str, texts: Sequence[str]) -> list[str]:
    if not texts:
        return []
    items = ("  • " + text.replace("\n", "\n    ") for text in texts)
    return [f"{title}:\n" + "\n".join(items)]


def _long(title: str, text: str | None) -> list[str]:
    return [f"{title}:\n{_indent(text)}"] if text else []


def _session(layout: Layout, item: Item, session: Session) -> str:
    parts = [
        f"Xenocept session {session_meta(layout, session)}",
        shot_text(layout, item, session),
        *(_note(layout, item, session, note) for note in session.notes),
        *_list("Bubbles", [b.text for b in session.bubbles]),
        *_list("Texts", [t.text for t in session.texts]),
        *_long("Text in the screenshot (OCR)", session.ocr_text),
        *_long("Description", session.alternative_description),
    ]
    if safe_href(item.session_link):
        parts.insert(1, f"Session files in Slack: {item.session_link}")
    return "\n\n".join(parts)


def _message(layout: Layout, index: int) -> str:
    # No per-message link: the thread's link heads the email; the HTML part keeps them.
    item = layout.items[index]
    message = item.message
    app = " (app)" if message.author_is_bot else ""
    parts = (
        []
        if continues(layout, index)
        else [f"{_RULE}\n{message.author}{app} — {format_time(message.posted_at)}"]
    )
    if message.heading is not None:
        link = f"\nView in Slack: {message.heading_link}" if safe_href(message.heading_link) else ""
        parts.insert(0, f"{'═' * 60}\n{message.heading}{link}")
    if item.text:
        parts.append(layout.cache.plain(item.text))
    parts.extend(filter(None, (_legacy(a, layout) for a in message.attachments)))
    if item.session is not None:
        parts.append(_session(layout, item, item.session))
    if item.problem is not None:
        parts.append("! " + problem_text(item.problem))
    if item.files:
        parts.append(_files(layout, item))
    return "\n\n".join(parts)


def plain_document(layout: Layout) -> str:
    sections = ["\n".join(_header(layout))]
    if layout.note and layout.note.strip():
        sections.append("Note:\n" + _indent(layout.note.replace("\r\n", "\n")))
    sections.extend("! " + text for text in notices(layout))
    messages = [_message(layout, index) for index in range(len(layout.items))]
    marker = replies_marker(layout)
    if marker is not None:
        messages.insert(1, f"[{marker}]")
    sections.extend(messages)
    sections.extend(
        f"{_RULE}\n{section.title}\n" + "\n".join(f"- {line}" for line in section.lines)
        for section in layout.appendix
    )
    sections.append("-- \nForwarded from Slack with Xenocept for Slack")
    return "\n\n".join(sections) + "\n"
