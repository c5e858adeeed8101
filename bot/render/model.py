"""Plain data handed to the rendering layer (no Slack, network or database types)."""

from __future__ import annotations

import email.message
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FileItem:
    """A file attached to a Slack message."""

    file_id: str
    name: str  # file name as Slack gives it
    mimetype: str
    size: int
    permalink: str  # link to the file in Slack
    content: bytes | None  # None when not downloaded (too big, download failed)


@dataclass(frozen=True)
class LegacyAttachment:
    """A Slack message "attachment" (unfurl, bot attachment)."""

    title: str
    title_link: str | None
    text: str
    fallback: str


@dataclass(frozen=True)
class ChatMessage:
    """One Slack message, names already resolved."""

    ts: str
    author: str  # resolved display name
    author_is_bot: bool
    posted_at: datetime  # tz-aware, in the forwarding user's time zone
    text: str  # raw Slack mrkdwn exactly as message["text"]
    permalink: str | None
    files: tuple[FileItem, ...] = ()
    attachments: tuple[LegacyAttachment, ...] = ()
    # A digest gathers several sessions or threads: each one's first message heads it.
    heading: str | None = None
    heading_link: str | None = None


@dataclass(frozen=True)
class Directory:
    """Names for resolving mentions."""

    users: Mapping[str, str] = field(default_factory=dict)  # U…/W… -> display name
    channels: Mapping[str, str] = field(default_factory=dict)  # C…/G… -> name without '#'
    usergroups: Mapping[str, str] = field(default_factory=dict)  # S… -> handle without '@'


@dataclass(frozen=True)
class Conversation:
    """A Slack thread (or single message) to forward."""

    title: str  # "#incidents", "a private channel", "DM with Jane Doe"
    permalink: str | None  # link back to the thread (or message)
    messages: tuple[ChatMessage, ...]  # parent first
    directory: Directory
    time_zone: str  # IANA name used for posted_at, e.g. "Europe/Berlin"
    notices: tuple[str, ...] = ()  # things the reader must know

    @property
    def sections(self) -> int:
        """How many sessions or threads a digest gathers (0: one conversation)."""
        return sum(1 for message in self.messages if message.heading is not None)


@dataclass(frozen=True)
class Note:
    """A Xenocept Note (session.json "comments" entry)."""

    index: int
    text: str
    side: str | None
    focus_image: str | None


@dataclass(frozen=True)
class Bubble:
    """A point-anchored speech bubble."""

    text: str


@dataclass(frozen=True)
class FreeText:
    """A free-floating text object."""

    text: str


@dataclass(frozen=True)
class Session:
    """A parsed Xenocept session."""

    session_id: str
    created_at: datetime | None
    screenshot: str  # plain file name
    notes: tuple[Note, ...]  # sorted by index
    bubbles: tuple[Bubble, ...]
    texts: tuple[FreeText, ...]
    ocr_text: str | None
    alternative_description: str | None
    images: Mapping[str, bytes]  # plain file name -> PNG bytes (screenshot.png, focus-N.png)


@dataclass(frozen=True)
class Section:
    """A titled list of sentences shown below the conversation (the test email's)."""

    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class RenderedEmail:
    """The finished message plus what happened to the files."""

    message: email.message.EmailMessage
    data: bytes  # message.as_bytes(): measured against the size limit, then sent as is
    attached_files: int
    linked_files: int  # files left as links (size limit or missing content)
    trimmed_messages: int  # messages left out because of the size limit

    @property
    def size(self) -> int:
        return len(self.data)
