"""Tables and the shapes around them.

Layering follows the full-stack FastAPI template: ``DestinationFields`` (what a user
edits) → ``DestinationBase`` (with the columns storage keeps) → ``Destination`` (the
table, the only place the ciphertext lives) and, beside it, ``DestinationPublic`` (what
everything above storage gets: no secret at all). ``SealedPassword`` carries the
ciphertext to the one reader that needs it, the worker, which opens it to send.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    LargeBinary,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlmodel import Field, SQLModel

# Constraint names are fixed so later migrations can name what they change on every engine.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware datetimes on every engine (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def when(**kwargs: Any) -> Any:
    """A timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


def enterprise_field() -> Any:
    """The Enterprise Grid organisation of a row ("" outside Grid)."""
    return Field(default="", index=True, sa_column_kwargs={"server_default": ""})


@dataclass(frozen=True)
class Owner:
    """The Slack user a row belongs to: every repository call takes one.

    ``team_id`` is the workspace (Slack team ids are unique across Slack) and scopes every
    query; ``enterprise_id`` (Enterprise Grid) is recorded on new rows so an org's data can
    be found, and the right bot token chosen, when the app is installed per organisation.
    """

    team_id: str
    user_id: str
    enterprise_id: str = ""


class Security(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


class ScreenshotMode(StrEnum):
    INLINE = "inline"
    ATTACHED = "attached"


class DestinationFields(SQLModel):
    """What the setup modal edits (the password travels separately, sealed)."""

    name: str
    provider: str = "icloud"
    smtp_host: str
    smtp_port: int
    security: Security = Security.STARTTLS
    username: str
    from_address: str
    to_addresses: str  # comma-separated, already validated
    screenshot_mode: ScreenshotMode = ScreenshotMode.INLINE


class DestinationBase(DestinationFields):
    id: str = Field(default_factory=new_id, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    enterprise_id: str = enterprise_field()
    created_at: datetime = when(default_factory=utcnow)
    updated_at: datetime = when(default_factory=utcnow)
    last_test_at: datetime | None = when(default=None)
    last_test_ok: bool | None = None
    last_test_summary: str | None = None
    last_used_at: datetime | None = when(default=None)

    @property
    def recipients(self) -> list[str]:
        return [item for item in self.to_addresses.split(",") if item]


class Destination(DestinationBase, table=True):
    __table_args__ = (UniqueConstraint("team_id", "user_id", "name_key"),)

    name_key: str  # casefolded name: names are unique per user regardless of case
    secret_key_id: str
    secret_ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))

    def public(self) -> DestinationPublic:
        return DestinationPublic.model_validate(
            self.model_dump(exclude={"name_key", "secret_key_id", "secret_ciphertext"})
        )


class DestinationPublic(DestinationBase):
    """A destination as listeners, views and the worker see it: no sealed password."""


@dataclass(frozen=True)
class SealedPassword:
    """A destination's password as stored: the key id and the AES-GCM ciphertext."""

    destination_id: str
    destination_name: str
    key_id: str
    ciphertext: bytes = field(repr=False)
    team_id: str = ""
    enterprise_id: str = ""


class DeliveryKind(StrEnum):
    TEST = "test"
    SESSION = "session"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(SQLModel, table=True):
    """One email to send: the durable outbox row, and later its history entry."""

    id: str = Field(default_factory=new_id, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    enterprise_id: str = enterprise_field()
    destination_id: str = Field(index=True)
    destination_name: str
    kind: DeliveryKind
    status: DeliveryStatus = Field(default=DeliveryStatus.QUEUED, index=True)
    request_json: str = "{}"  # what to fetch and render; never holds a secret
    summary: str = ""  # "Test send", "Thread from #incidents", later "12 messages from #incidents"
    message_id: str  # fixed per delivery so a retried send carries the same Message-ID
    dedupe_key: str | None = Field(default=None, unique=True)
    attempts: int = 0
    next_attempt_at: datetime = when(default_factory=utcnow, index=True)
    claimed_by: str | None = None
    lease_until: datetime | None = when(default=None)
    status_channel: str | None = None
    status_ts: str | None = None
    last_error: str | None = None
    created_at: datetime = when(default_factory=utcnow, index=True)
    finished_at: datetime | None = when(default=None)
    # What asked for it without a modal: "reaction:C…:ts" or "follow:<follow id>"; None for
    # the shortcut and tests. Reactions are recognised by it for a day; follows paused by it.
    source: str | None = Field(default=None, index=True)

    @property
    def owner(self) -> Owner:
        return Owner(self.team_id, self.user_id, self.enterprise_id)

    duration_ms: int | None = None


class Draft(SQLModel, table=True):
    """What a "Send to email" shortcut carried, kept until the modal is submitted.

    The message can be far larger than a modal's 3,000-character private_metadata, so the
    modal carries only this row's id (checked against the submitting user).
    """

    id: str = Field(default_factory=new_id, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    enterprise_id: str = enterprise_field()
    payload_json: str
    created_at: datetime = when(default_factory=utcnow, index=True)


class Installation(SQLModel, table=True):
    """The app installed in one workspace (or one Grid organisation) through Slack's OAuth.

    Only the bot token is kept, sealed like SMTP passwords (bound to enterprise and team).
    """

    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    enterprise_id: str = Field(default="", index=True)
    team_id: str = Field(default="", index=True)  # "" for an organisation-wide install
    is_enterprise_install: bool = False
    app_id: str | None = None
    enterprise_name: str | None = None
    team_name: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: str = ""
    installer_user_id: str = ""
    token_key_id: str
    token_ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    installed_at: datetime = when(default_factory=utcnow)


class OAuthState(SQLModel, table=True):
    """An OAuth ``state`` handed to an installer's browser, valid once until it expires."""

    __tablename__ = "oauth_state"

    state: str = Field(primary_key=True)
    expires_at: datetime = when(index=True)


class WorkspacePolicy(SQLModel, table=True):
    """What a workspace's owners and admins allow to leave it through the app. No row
    means the defaults: everything allowed, history kept 365 days."""

    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    enterprise_id: str = Field(default="", index=True)
    team_id: str = Field(index=True)
    allowed_domains: str = ""  # one per line, lower case; "" allows any
    allowed_providers: str = ""  # preset keys, comma-separated; "" allows all
    forward_from: str = "public,private,mpim,im"  # conversation kinds, comma-separated
    blocked_channels: str = ""  # channel ids, comma-separated
    max_thread_messages: int | None = None
    keep_days: int = 365  # 0 keeps history forever
    allow_sharing: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    updated_by: str = ""
    updated_at: datetime = when(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """One action, append-only: who did what in which workspace, and when. Never message
    text, file content, a subject the user typed, or a secret."""

    id: int | None = Field(default=None, primary_key=True)  # the order entries were made
    enterprise_id: str = Field(default="", index=True)
    team_id: str = Field(index=True)
    user_id: str
    action: str
    details_json: str = "{}"
    at: datetime = when(default_factory=utcnow, index=True)


DEFAULT_REACTION = "email"  # 📧


class UserPreference(SQLModel, table=True):
    """One Slack user's choices for forwarding without the menu. No row: the defaults."""

    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    enterprise_id: str = enterprise_field()
    reaction: str = DEFAULT_REACTION  # emoji name without colons; "" turns reactions off
    default_destination_id: str | None = None  # None: the destination used last
    told_no_destination_at: datetime | None = when(default=None)  # the one DM, once


class FollowMode(StrEnum):
    SESSIONS = "sessions"  # new Xenocept sessions only
    ALL = "all"  # every new message


class Follow(SQLModel, table=True):
    """A user's standing order: new posts in a channel go to one of their destinations."""

    __table_args__ = (UniqueConstraint("team_id", "user_id", "channel_id"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    enterprise_id: str = enterprise_field()
    channel_id: str = Field(index=True)
    channel_name: str | None = None
    conversation_kind: str = "public"  # as bot/policy.py names kinds
    destination_id: str
    destination_name: str
    mode: str = FollowMode.SESSIONS
    digest_time: str | None = None  # "HH:MM" in ``time_zone``: one email a day
    time_zone: str = "UTC"
    next_digest_at: datetime | None = when(default=None, index=True)
    paused_reason: str | None = None  # said once in the DM; None while it runs
    paused_until: datetime | None = when(default=None)  # None with a reason: until fixed
    created_at: datetime = when(default_factory=utcnow)

    @property
    def owner(self) -> Owner:
        return Owner(self.team_id, self.user_id, self.enterprise_id)


class FollowItem(SQLModel, table=True):
    """A message collected for a follow's daily digest, until the digest takes it."""

    __table_args__ = (UniqueConstraint("follow_id", "message_ts"),)

    id: int | None = Field(default=None, primary_key=True)  # the order items arrived
    follow_id: str = Field(index=True)
    team_id: str = Field(index=True)
    user_id: str
    message_ts: str
    message_json: str
    created_at: datetime = when(default_factory=utcnow)


class ShareKey(SQLModel, table=True):
    """A personal key a desktop shares sessions into Slack with (``xsk_<id>_<secret>``).

    Only a salted hash of the secret is kept: the key is shown once, when it is made."""

    id: str = Field(default_factory=new_id, primary_key=True)  # the key's public part
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    enterprise_id: str = enterprise_field()
    label: str = ""
    salt: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = when(default_factory=utcnow)
    last_used_at: datetime | None = when(default=None)

    @property
    def owner(self) -> Owner:
        return Owner(self.team_id, self.user_id, self.enterprise_id)


class ShareKeyPublic(SQLModel):
    """A share key as everything above storage sees it: no salt, no hash."""

    id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None


class SharedSession(SQLModel, table=True):
    """A session a desktop posted into a conversation: the same session is posted there
    once, however often the desktop sends it (a lost answer, a restart)."""

    __table_args__ = (UniqueConstraint("team_id", "user_id", "channel_id", "session_id"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    enterprise_id: str = enterprise_field()
    key_id: str = Field(index=True)
    channel_id: str
    session_id: str
    message_ts: str | None = None  # None while being posted; "" posted, ts unknown
    permalink: str | None = None
    created_at: datetime = when(default_factory=utcnow, index=True)
