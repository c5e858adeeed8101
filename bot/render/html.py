"""The HTML version of the email: Python gathers what each message shows (the words,
links, images and their state); the look is the Jinja2 templates in ``templates/``
(``email.html.j2``, the document; ``parts.html.j2``, a message and its pieces), with
autoescaping on.

The environment is built on first use (or by :func:`prepare`), not at import, and each
template is compiled once per process.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, cast

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from jinja2.ext import Extension
from markupsafe import Markup

from bot.render.layout import (
    MAX_IMAGE_WIDTH,
    Asset,
    Item,
    Layout,
    continues,
    file_owner,
    file_status,
    focus_part,
    format_time,
    human_size,
    notices,
    png_width,
    problem_text,
    replies_marker,
    session_meta,
    session_owner,
    shot_text,
    started_line,
)
from bot.render.model import FileItem, LegacyAttachment, Section, Session
from bot.render.mrkdwn import safe_href, unescape


class _Compact(Extension):
    """The template is written indented; the email gets it without the indentation and
    line breaks (its explicit breaks come from ``nl``)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return "".join(line.strip() for line in source.splitlines())


@functools.cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("bot.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=[_Compact],
    )
    environment.filters["split_lines"] = lambda text: text.replace("\r\n", "\n").split("\n")
    return environment


def _document() -> Template:
    return _environment().get_template("email.html.j2")


def prepare() -> None:
    """Compile the templates now (at start-up) rather than in the first send."""
    _document()


# ---------------------------------------------------------------- what the template receives
# Named tuples: a long thread makes thousands of these per build, and they are cheap.


class Picture(NamedTuple):
    src: str
    alt: str
    width: int | None


class LegacyShown(NamedTuple):
    title: str
    title_link: str | None
    html: Markup | None
    fallback: str | None


class FileShown(NamedTuple):
    name: str
    permalink: str | None
    size: str
    status: str
    image: Picture | None


class ShotShown(NamedTuple):
    image: Picture | None
    name: str
    also_attached: bool
    text: str


class NoteShown(NamedTuple):
    number: int
    side: str | None
    text: str
    image: Picture | None
    left_out: bool


class SessionShown(NamedTuple):
    meta: str
    files_link: str | None
    shot: ShotShown
    notes: tuple[NoteShown, ...]
    bubbles: tuple[str, ...]
    texts: tuple[str, ...]
    ocr_text: str | None
    description: str | None


class MessageShown(NamedTuple):
    continued: bool
    author: str
    is_bot: bool
    when: str
    permalink: str | None
    html: Markup | None
    legacy: tuple[LegacyShown, ...]
    session: SessionShown | None
    problem: str | None
    files: tuple[FileShown, ...]
    replies_marker: str | None  # after the thread's first message: "12 replies"
    heading: str | None = None  # a digest's session or thread starts here
    heading_link: str | None = None


class DocumentShown(NamedTuple):
    subject: str
    title: str
    started: str
    permalink: str | None
    note: str | None
    notices: tuple[str, ...]
    messages: tuple[MessageShown, ...]
    appendix: tuple[Section, ...]


def _picture(asset: Asset, alt: str) -> Picture:
    width = png_width(asset.content)
    return Picture(
        "cid:" + asset.cid.strip("<>"), alt, min(width, MAX_IMAGE_WIDTH) if width else None
    )


def _legacy(attachment: LegacyAttachment, layout: Layout) -> LegacyShown | None:
    title = unescape(attachment.title)
    html = Markup(layout.cache.html(attachment.text)) if attachment.text else None  # noqa: S704
    fallback = unescape(attachment.fallback) if not title and not html else None
    if not (title or html or fallback):
        return None
    return LegacyShown(title, safe_href(attachment.title_link), html, fallback)


def _file(layout: Layout, item: Item, file: FileItem) -> FileShown:
    owner = file_owner(item, file)
    inline = layout.part(owner, inline=True)
    return FileShown(
        file.name,
        safe_href(file.permalink),
        human_size(file.size),
        file_status(layout, owner, file),
        _picture(inline, file.name) if inline is not None else None,
    )


def _session(layout: Layout, item: Item, session: Session) -> SessionShown:
    owner = session_owner(item, session.screenshot)
    inline = layout.part(owner, True)
    shot = ShotShown(
        _picture(inline, "Annotated screenshot") if inline is not None else None,
        session.screenshot,
        layout.part(owner, False) is not None,
        shot_text(layout, item, session),
    )
    notes = []
    for note in session.notes:
        focus = focus_part(layout, item, note)
        number = note.index + 1
        notes.append(
            NoteShown(
                number,
                note.side or None,
                note.text,
                _picture(focus, f"Close-up for Note {number}") if focus is not None else None,
                focus is None and note.focus_image in session.images,
            )
        )
    return SessionShown(
        session_meta(layout, session),
        safe_href(item.session_link),
        shot,
        tuple(notes),
        tuple(b.text for b in session.bubbles),
        tuple(t.text for t in session.texts),
        session.ocr_text or None,
        session.alternative_description or None,
    )


def _message(layout: Layout, index: int, marker: str | None) -> MessageShown:
    """What message ``index`` shows. A message without files or a session shows the same
    in every build of a render (only its grouping and the marker after it vary), so it is
    worked out once; the item itself is kept beside it, so a recycled id never matches."""
    item, continued = layout.items[index], continues(layout, index)
    if item.files or item.session is not None:
        return _shown(layout, item, continued, marker)
    key = (id(item), continued, marker)
    kept = layout.cache.views.get(key)
    if kept is not None and kept[0] is item:
        return cast(MessageShown, kept[1])
    shown = _shown(layout, item, continued, marker)
    layout.cache.views[key] = (item, shown)
    return shown


def _shown(layout: Layout, item: Item, continued: bool, marker: str | None) -> MessageShown:
    message = item.message
    legacy = (_legacy(a, layout) for a in message.attachments)
    return MessageShown(
        continued=continued,
        author=message.author,
        is_bot=message.author_is_bot,
        when=format_time(message.posted_at),
        permalink=safe_href(message.permalink),
        html=Markup(layout.cache.html(item.text)) if item.text else None,  # noqa: S704
        legacy=tuple(shown for shown in legacy if shown is not None),
        session=_session(layout, item, item.session) if item.session is not None else None,
        problem=problem_text(item.problem) if item.problem is not None else None,
        files=tuple(_file(layout, item, file) for file in item.files),
        replies_marker=marker,
        heading=message.heading,
        heading_link=safe_href(message.heading_link),
    )


def _messages(layout: Layout) -> tuple[MessageShown, ...]:
    marker = replies_marker(layout)
    return tuple(
        _message(layout, index, marker if index == 0 else None)
        for index in range(len(layout.items))
    )


def html_document(layout: Layout) -> str:
    conversation = layout.conversation
    document = DocumentShown(
        subject=layout.subject,
        title=conversation.title,
        started=started_line(conversation) or "",
        permalink=safe_href(conversation.permalink),
        note=layout.note if layout.note and layout.note.strip() else None,
        notices=tuple(notices(layout)),
        messages=_messages(layout),
        appendix=layout.appendix,
    )
    return _document().render(doc=document, nl=Markup("\n"))
