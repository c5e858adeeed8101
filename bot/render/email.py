"""Render a forwarded Slack message or thread (with Xenocept sessions) as one email.

What it shows is planned in ``layout.py``; the HTML version is the Jinja2 template
(``html.py``, ``templates/email.html.j2``), the plain one ``plain.py``; the MIME tree and
fitting into the size limit are ``mime.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.render.explainers import SESSION_GUIDE
from bot.render.headers import clean_header
from bot.render.layout import Layout, RenderCache, format_time, human_size, plan_item, zone_of
from bot.render.mime import (
    DEFAULT_SIZE_LIMIT,
    SIZE_MARGIN,
    Builder,
    Envelope,
    counts,
    fit_assets,
    fit_text,
)
from bot.render.model import Conversation, RenderedEmail, Section, Session
from bot.render.mrkdwn import to_plain
from bot.render.session import find_session
from storage.models import ScreenshotMode

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "default_subject",
    "format_time",
    "human_size",
    "render_email",
    "session_in",
]


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
    screenshot_mode: ScreenshotMode = ScreenshotMode.INLINE,
    size_limit: int = DEFAULT_SIZE_LIMIT,
    appendix: Sequence[Section] = (),
) -> RenderedEmail:
    """Render a conversation as one email that stays within `size_limit` bytes."""
    cleaned = clean_header(subject) or default_subject(conversation)
    env = Envelope(cleaned, sender, tuple(recipients), message_id, tuple(references), sent_at)
    layout = Layout(
        conversation=conversation,
        cache=RenderCache(conversation.directory),
        note=note,
        subject=cleaned,
        mode=screenshot_mode,
        zone=zone_of(conversation.time_zone),
        items=tuple(plan_item(m) for m in conversation.messages),
        appendix=(*appendix, *_guides(conversation)),
    )
    limit = int(size_limit * (1 - SIZE_MARGIN))
    builder = Builder(env)
    layout = fit_assets(fit_text(layout, builder, limit), builder, limit)
    message, data = builder.build(layout)
    attached, linked = counts(layout)
    return RenderedEmail(message, data, attached, linked, layout.omitted)


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
