"""Pure rendering layer: Slack conversations (and Xenocept sessions) → email messages."""

from bot.render.email import (
    DEFAULT_SIZE_LIMIT,
    default_subject,
    format_time,
    human_size,
    render_email,
    session_in,
)
from bot.render.headers import clean_filename, clean_header
from bot.render.model import (
    Bubble,
    ChatMessage,
    Conversation,
    Directory,
    FileItem,
    FreeText,
    LegacyAttachment,
    Note,
    RenderedEmail,
    Session,
)
from bot.render.mrkdwn import to_html, to_plain
from bot.render.sample import build_sample_conversation, png
from bot.render.session import (
    SessionFormatError,
    SessionMatch,
    SessionProblem,
    find_session,
    match_session,
    parse_session,
)

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "Bubble",
    "ChatMessage",
    "Conversation",
    "Directory",
    "FileItem",
    "FreeText",
    "LegacyAttachment",
    "Note",
    "RenderedEmail",
    "Session",
    "SessionFormatError",
    "SessionMatch",
    "SessionProblem",
    "build_sample_conversation",
    "clean_filename",
    "clean_header",
    "default_subject",
    "find_session",
    "format_time",
    "human_size",
    "match_session",
    "parse_session",
    "png",
    "render_email",
    "session_in",
    "to_html",
    "to_plain",
]
