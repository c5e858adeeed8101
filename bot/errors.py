"""Errors raised by the bot package.

Every error the bot raises derives from :class:`XenoceptError`; the text a Slack user
reads for any of them comes from :mod:`bot.advice`, never from ``str(error)`` directly,
so exception texts stay free of secrets and of stack details.

XenoceptError
├── SettingsError            configuration missing or malformed (CLI exits 2)
├── SecretKeyError           a stored secret cannot be decrypted with the configured keys
├── HostNotAllowed           an SMTP host resolves to a non-public address
├── HostLookupFailed         an SMTP host name does not resolve
├── SendFailure              an SMTP exchange failed at a known stage
├── SlackDataError           Slack refused a read a delivery needs
│   └── ConversationUnreadable      Slack refused the conversation's history
│       └── DirectMessageUnreadable  … of a direct message, which no app can read
├── DestinationGone          the destination was removed while a delivery waited
├── FollowerLeft             a follow's user left the channel (the follow ends)
├── NotInstalled             no installation serves the workspace
└── Refusal                  a send the user must change (said under the form's field)
    ├── StaleForm            the send form expired or was not opened by this user
    ├── NotYours             a destination id that is not the user's, or was removed
    ├── LastTestFailed       the destination's last test failed
    ├── HourlyLimit          the user's sends per hour are used up
    ├── DailyLimit           the destination's sends per day are used up
    ├── PolicyRefusal        the workspace's policy does not allow it (words: advice)
    │   ├── DomainNotAllowed        a recipient outside the allowed domains
    │   ├── ProviderNotAllowed      a provider the workspace does not allow
    │   ├── ConversationNotAllowed  a kind of conversation, or a channel, it blocks
    │   └── ThreadTooLong           more messages than one send may carry
    └── FollowRefusal        a channel that cannot be followed as asked
        ├── ChannelNotFound         no such channel, or one the app cannot see
        ├── BotNotInChannel         the app is not in it (it must be /invite-d)
        ├── NotAMember              the user is not in it
        └── NoDestinationToFollowWith  no destination (by that name)
NotAdmin (XenoceptError)     a policy action by someone who is not a workspace admin
ShareRefusal (XenoceptError) an upload from `xenocept share` refused (HTTP status + advice)
├── ShareKeyRefused          no such key: never made, revoked, or forged (401)
├── SharingOff               the workspace's policy turned sharing off (403)
├── ShareChannelRefused      a conversation the key's owner cannot post to (403)
├── TooManyShareKeys         the user has the most keys allowed (/xenocept connect)
├── ShareTooBig              more bytes than an upload may carry (413)
├── ShareMalformed           not a session the renderer can read (422)
└── ShareRateLimited         the key posted the most allowed this hour (429)
"""

from __future__ import annotations

from enum import StrEnum


class XenoceptError(Exception):
    """Root of every error raised by the bot package."""


class SettingsError(XenoceptError):
    """A setting is missing or malformed; the message is one plain sentence."""


class SecretKeyError(XenoceptError):
    """A stored secret could not be decrypted (wrong or missing key)."""

    def __init__(self, *, label: str, key_id: str, reason: str) -> None:
        self.label = label
        self.key_id = key_id
        self.reason = reason
        super().__init__(f"cannot decrypt the password of {label!r} (key id {key_id}): {reason}")


class HostNotAllowed(XenoceptError):
    """The SMTP host resolves to an address the bot must not connect to."""

    def __init__(self, *, host: str, address: str) -> None:
        self.host = host
        self.address = address
        super().__init__(f"{host} resolves to {address}, which is not a public address")


class HostLookupFailed(XenoceptError):
    """The SMTP host name could not be resolved."""

    def __init__(self, *, host: str) -> None:
        self.host = host
        super().__init__(f"could not find the host {host}")


class Stage(StrEnum):
    """Where in the SMTP exchange a send failed (by what the server's reply is about)."""

    CONNECT = "connect"
    HELO = "helo"
    TLS = "tls"
    LOGIN = "login"
    SENDER = "sender"
    RECIPIENTS = "recipients"
    MESSAGE = "message"


class Symptom(StrEnum):
    """What we saw when a server gave no reply code to quote."""

    REFUSED = "refused"  # nothing listens on that port
    TIMED_OUT = "timed-out"  # no connection, or no answer, within the timeout
    UNREACHABLE = "unreachable"  # no route to the network or host
    SILENT = "silent"  # connected, but no greeting: the port likely expects TLS at once
    NOT_SMTP = "not-smtp"  # a server answered, but not in SMTP (IMAP, HTTP, …)
    NO_AUTH = "no-auth"  # the server offered no login on this connection
    SLOW_LOGIN = "slow-login"  # the login got no answer in time (penalty after failures)
    OTHER = "other"


class SendFailure(XenoceptError):
    """An SMTP send failed; ``transient`` failures are worth retrying."""

    def __init__(
        self,
        *,
        stage: Stage,
        code: int | None,
        text: str,
        transient: bool,
        symptom: Symptom = Symptom.OTHER,
    ) -> None:
        self.stage = stage
        self.code = code
        self.text = text
        self.transient = transient
        self.symptom = symptom
        reply = f"{code} {text}" if code else text
        super().__init__(f"{stage.value}: {reply}")


class SlackDataError(XenoceptError):
    """Slack refused a read the delivery needs (history, users, files)."""

    def __init__(self, *, error: str, method: str) -> None:
        self.error = error
        self.method = method
        super().__init__(f"{method}: {error}")


class ConversationUnreadable(SlackDataError):
    """Slack refused the history of a conversation (not a member, no scope, no thread…)."""

    def __init__(self, *, error: str, method: str = "conversations.replies") -> None:
        super().__init__(error=error, method=method)

    @classmethod
    def of(cls, channel_id: str, *, error: str) -> ConversationUnreadable:
        """The error for ``channel_id``: a direct message's history no app can read."""
        kind = DirectMessageUnreadable if channel_id.startswith("D") else cls
        return kind(error=error)


class DirectMessageUnreadable(ConversationUnreadable):
    """The history of a direct message between two people: no app can read it."""


class DestinationGone(XenoceptError):
    """The destination was removed while the delivery waited."""


class NotInstalled(XenoceptError):
    """No installation serves this workspace (never installed, or uninstalled)."""

    def __init__(self, *, team_id: str, enterprise_id: str) -> None:
        super().__init__(f"Xenocept is not installed in workspace {team_id or enterprise_id}")


class Refusal(XenoceptError):
    """A send the user must change; ``bot.advice.for_refusal`` words it."""


class StaleForm(Refusal):
    """The send form expired (its draft is gone) or was opened by someone else."""


class NotYours(Refusal):
    """The destination chosen is not the user's, or was removed."""


class LastTestFailed(Refusal):
    def __init__(self, *, destination: str) -> None:
        super().__init__(destination)
        self.destination = destination


class HourlyLimit(Refusal):
    def __init__(self, *, sent: int) -> None:
        super().__init__(sent)
        self.sent = sent


class DailyLimit(Refusal):
    def __init__(self, *, destination: str, sent: int) -> None:
        super().__init__(destination, sent)
        self.destination, self.sent = destination, sent


# Slack errors worth another try later (a hiccup, not a refusal): for sends and statuses.
TRANSIENT_SLACK_ERRORS = frozenset(
    {
        "ratelimited",
        "slack_unreachable",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
    }
)


class PolicyRefusal(Refusal):
    """The workspace's policy does not allow this; ``bot.advice`` says which rule."""


class DomainNotAllowed(PolicyRefusal):
    def __init__(self, *, refused: tuple[str, ...], allowed: tuple[str, ...]) -> None:
        super().__init__(refused, allowed)
        self.refused, self.allowed = refused, allowed


class ProviderNotAllowed(PolicyRefusal):
    def __init__(self, *, provider: str, allowed: tuple[str, ...]) -> None:
        super().__init__(provider, allowed)
        self.provider, self.allowed = provider, allowed


class ConversationNotAllowed(PolicyRefusal):
    """``kind`` is the conversation's kind ("public", "private", "mpim", "im"); ``blocked``
    says the channel itself is on the blocked list."""

    def __init__(self, *, kind: str, blocked: bool) -> None:
        super().__init__(kind, blocked)
        self.kind, self.blocked = kind, blocked


class ThreadTooLong(PolicyRefusal):
    def __init__(self, *, messages: int, limit: int) -> None:
        super().__init__(messages, limit)
        self.messages, self.limit = messages, limit


class NotAdmin(XenoceptError):
    """Only the workspace's owners and admins (and the operator's) change its policy."""


class FollowerLeft(XenoceptError):
    """The follower is no longer a member of the followed channel."""

    def __init__(self, *, channel: str, follow_id: str) -> None:
        super().__init__(channel)
        self.channel, self.follow_id = channel, follow_id  # "#name"


class FollowRefusal(Refusal):
    """A channel that cannot be followed as asked; ``bot.advice.for_follow`` words it."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self.channel = channel  # "#name" or the id as typed


class ChannelNotFound(FollowRefusal):
    """No such channel, or one the app cannot see."""


class BotNotInChannel(FollowRefusal):
    """The app is not a member, so Slack sends it none of the channel's messages."""


class NotAMember(FollowRefusal):
    """Only the channel's members may follow it."""


class NoDestinationToFollowWith(FollowRefusal):
    """The user has no destination yet (or none by the name given)."""

    def __init__(self, channel: str, *, name: str | None = None) -> None:
        super().__init__(channel)
        self.name = name


class ShareRefusal(XenoceptError):
    """An upload refused; ``status`` is its HTTP status, ``bot.advice.for_share`` words it."""

    status = 400


class ShareKeyRefused(ShareRefusal):
    status = 401


class SharingOff(ShareRefusal):
    status = 403


class ShareChannelRefused(ShareRefusal):
    status = 403

    def __init__(self, cause: FollowRefusal) -> None:
        super().__init__(cause.channel)
        self.cause = cause  # ChannelNotFound, BotNotInChannel or NotAMember


class TooManyShareKeys(ShareRefusal):
    def __init__(self, *, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class ShareTooBig(ShareRefusal):
    status = 413

    def __init__(self, *, limit: int, what: str = "") -> None:
        super().__init__(limit)
        self.limit = limit  # bytes
        self.what = what  # the file over its own cap; "" for the upload as a whole


class ShareMalformed(ShareRefusal):
    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # the renderer's words: which file or field, and why


class ShareRateLimited(ShareRefusal):
    status = 429

    def __init__(self, *, limit: int, retry_after: int) -> None:
        super().__init__(limit)
        self.limit, self.retry_after = limit, retry_after  # posts per hour; seconds


class ShareClientError(XenoceptError):
    """``xenocept share`` cannot start (flags, key, state file): one plain sentence."""


class ShareStopped(XenoceptError):
    """``xenocept share --watch`` stops: the bot refused the key or the channel, which
    every further session would meet too. The message is the bot's sentence."""
