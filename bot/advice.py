"""The one place that turns errors into what a Slack user reads.

Wording for iCloud comes from the setup guide (../shared/seed); other providers'
wording comes from their preset. Server replies are quoted (code and text), never
secrets: no exception text that could carry one is shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import (
    BotNotInChannel,
    ChannelNotFound,
    ConversationNotAllowed,
    DailyLimit,
    DestinationGone,
    DirectMessageUnreadable,
    DomainNotAllowed,
    FollowerLeft,
    FollowRefusal,
    HostLookupFailed,
    HostNotAllowed,
    HourlyLimit,
    LastTestFailed,
    NoDestinationToFollowWith,
    NotAMember,
    NotYours,
    PolicyRefusal,
    ProviderNotAllowed,
    Refusal,
    SecretKeyError,
    SendFailure,
    ShareChannelRefused,
    ShareKeyRefused,
    ShareMalformed,
    ShareRateLimited,
    ShareRefusal,
    ShareTooBig,
    SharingOff,
    SlackDataError,
    Stage,
    StaleForm,
    Symptom,
    ThreadTooLong,
    TooManyShareKeys,
)
from bot.presets import ICLOUD, Preset, preset_for

STAGE_LABELS = {
    Stage.CONNECT: "Connecting",
    Stage.HELO: "Greeting the server (EHLO)",
    Stage.TLS: "Securing the connection (TLS)",
    Stage.LOGIN: "Logging in",
    Stage.SENDER: "Sender (From)",
    Stage.RECIPIENTS: "Recipients (To)",
    Stage.MESSAGE: "Sending the message",
}


@dataclass(frozen=True)
class Advice:
    headline: str  # what failed, one line
    detail: str  # the server's words or what we saw
    fixes: tuple[str, ...]  # what to do, in the guide's words


@dataclass(frozen=True)
class Target:
    """Where we tried to send, and what: for wording only."""

    preset: Preset
    host: str
    port: int
    username: str = ""
    is_test: bool = False  # a test send: never retried, the user is watching
    retried: bool = False  # this failure will be tried again
    whole_thread: bool = False  # a thread was sent: "only this message" is smaller
    size_limit: int | None = None  # what the server said it accepts (EHLO SIZE)


def server_words(failure: SendFailure, target: Target) -> str:
    reply = f"{failure.code} {failure.text}" if failure.code else failure.text
    who = "iCloud" if target.preset.key == "icloud" else target.host
    return f"{who} answered: {reply[:300]}" if failure.code else reply[:300]


def for_send_failure(failure: SendFailure, target: Target) -> Advice:
    headline = f"{STAGE_LABELS[failure.stage]} failed"
    return Advice(headline, server_words(failure, target), _fixes(failure, target))


#: Replies that mean "this account may not send (this much) yet": new-account throttling.
THROTTLED = ("no permission to send", "throttl", "rate limit", "rate-limit", "temporarily deferred")
#: Microsoft's reply once password SMTP is switched off for a work or school account.
BASIC_AUTH_OFF = "basic authentication is disabled"


def _fixes(failure: SendFailure, target: Target) -> tuple[str, ...]:
    preset, text = target.preset, failure.text.lower()
    if any(marker in text for marker in THROTTLED):
        return (
            preset.warmup_advice
            or "Your provider does not let this account send yet: wait a few hours and try again.",
        )
    if "daily sending limit" in text:
        return (
            "The account reached its daily sending limit (iCloud: 1,000 messages a day). "
            "Try again tomorrow.",
        )
    if failure.code == 552 or "too big" in text or "size exceeds" in text:
        return (_too_big(target),)
    handler = _BY_STAGE.get(failure.stage)
    fixes = handler(failure, target) if handler else ()
    if failure.transient and target.is_test:
        fixes = (*fixes, _NOT_RETRIED)
    return fixes


_NOT_RETRIED = "A test is not retried: once fixed (or in a few minutes), send a test again."


def _too_big(target: Target) -> str:
    limit = (
        f"{target.host} accepts at most {megabytes(target.size_limit)} per email"
        if target.size_limit
        else "The email is larger than the server accepts"
    )
    if target.whole_thread:
        return f"{limit}. Send only this message, or a thread with fewer or smaller files."
    return f"{limit}. Send fewer or smaller files in one message, or share large files as links."


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size < 10_000_000 else f"{size // 1_000_000} MB"


def _connect(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if failure.code:
        return (
            "The server is temporarily unavailable. It usually recovers on its own: "
            "try again in a few minutes.",
        )
    preset = target.preset
    usual = f" ({preset.label}: {preset.host}, port {preset.port})" if preset.host else ""
    if failure.symptom is Symptom.SILENT:
        return (
            f"Port {target.port} seems to expect an encrypted connection from the first "
            "byte (as port 465 does): set Security to SSL/TLS, or use port 587 with "
            "STARTTLS.",
        )
    if failure.symptom is Symptom.NOT_SMTP:
        return (
            f"{target.host}:{target.port} is not an SMTP submission server (an IMAP, "
            f"POP or web server answered). Use your provider's SMTP host and port{usual}.",
        )
    reach = f"Could not reach {target.host}:{target.port}. Check SMTP Host and SMTP Port{usual}."
    return tuple(filter(None, (reach, preset.extra_advice.get("connect"))))


def _helo(_failure: SendFailure, _target: Target) -> tuple[str, ...]:
    return (
        "The server refused the name the bot greets it with (it wants a fully qualified "
        "host name). Ask the operator to give the bot's machine a fully qualified name "
        "in DNS.",
    )


def _tls(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if failure.code:  # "530 Must issue a STARTTLS command first": Security was None
        return (
            "The server takes mail only over an encrypted connection: set Security to "
            "STARTTLS (port 587) or SSL/TLS (port 465).",
        )
    if "starttls" in failure.text.lower():
        return (
            "The server did not offer STARTTLS, so your password was not sent. Check "
            "Security and Port (587 uses STARTTLS, 465 uses SSL/TLS).",
        )
    if not failure.transient:
        return (
            "The server's certificate could not be verified. Check the SMTP Host "
            "spelling; if your server uses a private CA, the operator can point "
            "SSL_CERT_FILE at it.",
        )
    return (
        "The secure connection broke off. Check Security and Port (587 uses STARTTLS, "
        "465 uses SSL/TLS) and try again.",
    )


def _login(failure: SendFailure, target: Target) -> tuple[str, ...]:
    fixes = [target.preset.auth_advice]
    if "2fa" in target.preset.extra_advice:
        fixes.append(target.preset.extra_advice["2fa"])
    if _organisational(failure, target):  # said first and plainly: no password will work
        fixes.insert(0, target.preset.extra_advice["org"])
    if failure.symptom is Symptom.SLOW_LOGIN:
        fixes.insert(
            0,
            "The server did not answer the login in time. Servers slow down "
            "logins after failed attempts: wait a few minutes, check the "
            "password, then send a test again.",
        )
    elif failure.symptom is Symptom.NO_AUTH:
        fixes.insert(
            0,
            "The server offered no way to log in on this connection. Check "
            "Security (STARTTLS on 587, SSL/TLS on 465).",
        )
    return tuple(fixes)


def _organisational(failure: SendFailure, target: Target) -> bool:
    """A work or school account on a consumer preset (Microsoft 365 behind Outlook.com)."""
    preset = target.preset
    if "org" not in preset.extra_advice:
        return False
    if BASIC_AUTH_OFF in failure.text.lower():
        return True
    domain = target.username.rpartition("@")[2].lower()
    return bool(
        preset.personal_domains and domain and not re.fullmatch(preset.personal_domains, domain)
    )


def _sender(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if failure.transient:
        return ("The server asked us to try again later.",)
    from_advice = target.preset.extra_advice.get(
        "from",
        "The server does not let this login send as the From address. Use an "
        "address your account owns.",
    )
    return (from_advice, "Edit the destination and set From to an address your account owns.")


def _recipients(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if "relay access denied" in failure.text.lower():
        return (
            "The server does not accept mail from this account for that recipient: it "
            "relays only for its own users or logged-in accounts. Check Username and the "
            "To addresses.",
        )
    if failure.transient:
        return (
            ("The server refused the recipients for now; it will be retried.",)
            if target.retried
            else ("The server refused the recipients for now.",)
        )
    return ("Check the To addresses of this destination.",)


def _message(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if failure.transient:
        retry = " It will be retried." if target.retried else ""
        return (
            "The server or the connection failed while taking the message. It is "
            f"usually temporary.{retry}",
        )
    return ("The server refused the message itself.",)


def for_refused_recipients(refusals: Sequence[tuple[str, int, str]]) -> str:
    """ "b@… was refused: 550 …, check that address" for each refused recipient."""
    parts = [f"{recipient} was refused: {code} {text[:200]}" for recipient, code, text in refusals]
    check = "check that address" if len(refusals) == 1 else "check those addresses"
    return f"{'; '.join(parts)} — {check} in the destination's To."


_BY_STAGE = {
    Stage.CONNECT: _connect,
    Stage.HELO: _helo,
    Stage.TLS: _tls,
    Stage.LOGIN: _login,
    Stage.SENDER: _sender,
    Stage.RECIPIENTS: _recipients,
    Stage.MESSAGE: _message,
}


NO_HISTORY_ACCESS = frozenset(
    {"not_in_channel", "channel_not_found", "missing_scope", "thread_not_found"}
)
INVITE_FIX = (
    "The Xenocept app is not in this conversation. Type /invite @Xenocept in the "
    "channel and send again — or send only this message (it came with the shortcut "
    "and needs no history access)."
)
DM_FIX = (
    "This is a direct message between two people, which an app can never read. Send "
    "only this message (it came with the shortcut and needs no history access)."
)
SCOPE_FIX = (
    "If the app is already in the conversation, ask the operator to reinstall it "
    "with the history scopes (channels:history, groups:history, im:history, "
    "mpim:history)."
)


def for_slack_data(error: SlackDataError) -> Advice:
    """Slack refused a read: history access problems get the /invite advice."""
    detail = f"Slack answered {error.error}."
    if error.error not in NO_HISTORY_ACCESS:
        return Advice("Slack did not give us the conversation", detail, ("Try again in a minute.",))
    headline = "Xenocept cannot read this conversation"
    if isinstance(error, DirectMessageUnreadable):
        return Advice(headline, detail, (DM_FIX,))
    fixes = (INVITE_FIX, SCOPE_FIX) if error.error == "missing_scope" else (INVITE_FIX,)
    return Advice(headline, detail, fixes)


def for_error(error: BaseException, target: Target | None = None) -> Advice:
    """Advice for anything else that stops a send; unknown errors get a neutral text."""
    if isinstance(error, SendFailure) and target is not None:
        return for_send_failure(error, target)
    if isinstance(error, HostNotAllowed):
        return Advice(
            "This SMTP host is not allowed",
            f"{error.host} resolves to {error.address}, a private or local address.",
            (
                "The bot only connects to public mail servers. Ask the operator to "
                "list this host in XENOCEPT_SMTP_ALLOW_HOSTS if it is meant to be "
                "used.",
            ),
        )
    if isinstance(error, HostLookupFailed):
        usual = target.preset if target and target.preset.host else ICLOUD
        return Advice(
            "SMTP host not found",
            f"{error.host} could not be found.",
            (f"Check the SMTP Host spelling ({usual.label}: {usual.host}).",),
        )
    if isinstance(error, SecretKeyError):
        return Advice(
            f"The password of {error.label!r} cannot be read",
            f"It was encrypted with key {error.key_id}, which {error.reason}.",
            (
                "Ask the operator to restore the key (XENOCEPT_SECRET_KEY or the key "
                "file), or edit the destination and enter the password again.",
            ),
        )
    if isinstance(error, SlackDataError):
        return for_slack_data(error)
    if isinstance(error, PolicyRefusal):
        return Advice(
            "Not allowed by workspace policy",
            for_policy(error),
            ("Nothing was sent.",),
        )
    if isinstance(error, FollowerLeft):
        return Advice(
            "Not forwarded: you left the channel",
            follower_left(error.channel),
            ("Join the channel and follow it again to get its posts by email.",),
        )
    if isinstance(error, DestinationGone):
        return Advice(
            "The destination was removed",
            "It was removed before this could be sent.",
            ("Pick another destination and send again.",),
        )
    return Advice(
        "Something went wrong on our side",
        "The error was logged for the operator.",
        ("Try again in a minute.",),
    )


STALE_FORM = (
    "This form has expired or was not opened by you: close it and use Send to email "
    "on the message again."
)


def for_refusal(refusal: Refusal) -> str:
    """The sentence under the send form's destination field: what to change."""
    if isinstance(refusal, StaleForm):
        return STALE_FORM
    if isinstance(refusal, NotYours):
        return "That destination is not yours or was removed; pick another."
    if isinstance(refusal, LastTestFailed):
        return (
            f"The last test of {refusal.destination} failed. Fix it and send a test "
            f"first: /xenocept test {refusal.destination}, or Send test on the Home tab."
        )
    if isinstance(refusal, HourlyLimit):
        return (
            f"You sent {_emails(refusal.sent)} in the last hour, the most allowed. Try "
            "again in a little while."
        )
    if isinstance(refusal, PolicyRefusal):
        return for_policy(refusal)
    if isinstance(refusal, FollowRefusal):
        return for_follow(refusal)
    if isinstance(refusal, DailyLimit):
        return (
            f"{refusal.destination} already sent {_emails(refusal.sent)} today, the most "
            "allowed (iCloud accepts 1,000 a day per account). Try again tomorrow."
        )
    return "This send cannot go as it is."


def _emails(count: int) -> str:
    return "1 email" if count == 1 else f"{count} emails"


ASK_AN_ADMIN = "ask a workspace admin (they change it with /xenocept admin)"
KIND_WORDS = {
    "public": "public channels",
    "private": "private channels",
    "mpim": "group DMs",
    "im": "direct messages",
}


def for_policy(refusal: PolicyRefusal) -> str:
    """One sentence: the workspace rule that refused it, and who can change it."""
    if isinstance(refusal, DomainNotAllowed):
        allowed = _either(refusal.allowed)
        refused = ", ".join(refusal.refused[:3]) + ("…" if len(refusal.refused) > 3 else "")
        return (
            f"Your workspace allows email only to {allowed} addresses ({refused} is not); "
            f"{ASK_AN_ADMIN}."
        )
    if isinstance(refusal, ProviderNotAllowed):
        names = [preset_for(key).label for key in refusal.allowed]
        return f"Your workspace allows only {_either(tuple(names))} destinations; {ASK_AN_ADMIN}."
    if isinstance(refusal, ConversationNotAllowed):
        if refusal.blocked:
            return f"Your workspace does not allow forwarding from this channel; {ASK_AN_ADMIN}."
        kind = KIND_WORDS.get(refusal.kind, "this kind of conversation")
        return f"Your workspace does not allow forwarding from {kind}; {ASK_AN_ADMIN}."
    if isinstance(refusal, ThreadTooLong):
        return (
            f"Your workspace allows at most {refusal.limit:,} messages in one send and this "
            f"thread has {refusal.messages:,}: send only this message, or {ASK_AN_ADMIN}."
        )
    return f"Your workspace's policy does not allow this; {ASK_AN_ADMIN}."


def _either(items: tuple[str, ...]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def for_follow(refusal: FollowRefusal) -> str:
    """One sentence: why that channel cannot be followed, and what to do."""
    channel = refusal.channel
    if isinstance(refusal, ChannelNotFound):
        return (
            f"I can't find the channel {channel}: pick it from the list as you type `#`, "
            "and invite me to it if it is private (`/invite @Xenocept`)."
        )
    if isinstance(refusal, BotNotInChannel):
        return (
            f"I'm not in {channel}, so Slack sends me none of its messages: type "
            f"`/invite @Xenocept` in {channel}, then follow it again."
        )
    if isinstance(refusal, NotAMember):
        return f"Only members of {channel} can follow it: join it first."
    if isinstance(refusal, NoDestinationToFollowWith):
        if refusal.name:
            return f"You have no destination called “{refusal.name}”: `/xenocept list` shows yours."
        return "You have no email destination yet: add one with `/xenocept add` first."
    return f"{channel} cannot be followed as asked."


def follower_left(channel: str) -> str:
    return (
        f"You are no longer a member of {channel}, so its posts are not forwarded to "
        "you; I stopped following it for you."
    )


def for_share(refusal: ShareRefusal) -> str:
    """One sentence for the desktop that uploaded (``xenocept share`` prints it)."""
    if isinstance(refusal, ShareKeyRefused):
        return (
            "That share key is not valid (revoked, mistyped, or never made): make a new "
            "one with /xenocept connect in Slack."
        )
    if isinstance(refusal, SharingOff):
        return f"Your workspace does not allow sharing sessions into Slack; {ASK_AN_ADMIN}."
    if isinstance(refusal, ShareChannelRefused):
        return _share_channel(refusal.cause)
    if isinstance(refusal, TooManyShareKeys):
        return (
            f"You have {refusal.limit} share keys, the most allowed: revoke one you no "
            "longer use with /xenocept keys, then connect again."
        )
    if isinstance(refusal, ShareTooBig) and refusal.what:
        return f"{refusal.what} is larger than the {megabytes(refusal.limit)} allowed."
    if isinstance(refusal, ShareTooBig):
        return (
            f"This session is larger than the {megabytes(refusal.limit)} one upload may "
            "carry: share it without screenshot-clean.png, or with fewer Notes."
        )
    if isinstance(refusal, ShareMalformed):
        return f"This is not a Xenocept session Slack can show: {refusal.reason}."
    if isinstance(refusal, ShareRateLimited):
        return (
            f"This key shared {refusal.limit} sessions in the last hour, the most allowed: "
            f"try again in {max(1, refusal.retry_after // 60)} min."
        )
    return "This session cannot be shared as it is."


def _share_channel(cause: FollowRefusal) -> str:
    channel = cause.channel
    if isinstance(cause, BotNotInChannel):
        return (
            f"Xenocept is not in {channel}: type `/invite @Xenocept` in {channel}, "
            "then share again."
        )
    if isinstance(cause, NotAMember):
        return f"You are not a member of {channel}, so you cannot share into it: join it first."
    return (
        f"There is no channel {channel} that Xenocept can see: check the name, and if it is "
        "private, type `/invite @Xenocept` in it."
    )


def share_outage(part: str, detail: str) -> str:
    """An upload that found Slack or the bot's database unavailable: nothing posted."""
    if part == "slack":
        return (
            f"Slack did not take the post just now ({detail}): nothing was posted; "
            "xenocept share tries again by itself."
        )
    return "The bot cannot record shares just now: nothing was posted; try again in a minute."
