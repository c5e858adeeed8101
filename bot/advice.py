"""The one place that turns errors into what a Slack user reads.

Wording for iCloud comes from the setup guide (../shared/seed); other providers'
wording comes from their preset. Server replies are quoted (code and text), never
secrets: no exception text that could carry one is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import (
    DestinationGone,
    HostLookupFailed,
    HostNotAllowed,
    SecretKeyError,
    SendFailure,
    SlackDataError,
    Stage,
)
from bot.presets import ICLOUD, Preset

STAGE_LABELS = {
    Stage.CONNECT: "Connecting",
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
    """Where we tried to send: for wording only."""

    preset: Preset
    host: str
    port: int
    username: str = ""


def server_words(failure: SendFailure, target: Target) -> str:
    reply = f"{failure.code} {failure.text}" if failure.code else failure.text
    who = "iCloud" if target.preset.key == "icloud" else target.host
    return f"{who} answered: {reply[:300]}" if failure.code else reply[:300]


def for_send_failure(failure: SendFailure, target: Target) -> Advice:
    headline = f"{STAGE_LABELS[failure.stage]} failed"
    return Advice(headline, server_words(failure, target), _fixes(failure, target))


#: Replies that mean "this account may not send (this much) yet": new-account throttling.
THROTTLED = ("no permission to send", "throttl", "rate limit", "rate-limit",
             "temporarily deferred")
#: Microsoft's reply once password SMTP is switched off for a work or school account.
BASIC_AUTH_OFF = "basic authentication is disabled"


def _fixes(failure: SendFailure, target: Target) -> tuple[str, ...]:
    preset, text = target.preset, failure.text.lower()
    if any(marker in text for marker in THROTTLED):
        return (preset.warmup_advice or "Your provider does not let this account send yet: "
                "wait a few hours and try again.",)
    if "daily sending limit" in text:
        return ("The account reached its daily sending limit (iCloud: 1,000 messages a day). "
                "Try again tomorrow.",)
    if failure.code == 552 or "too big" in text or ("size" in text and failure.code):
        return ("The message is larger than the server accepts (iCloud: about 20 MB of "
                "attachments). Send only this message, or fewer files.",)
    handler = _BY_STAGE.get(failure.stage)
    return handler(failure, target) if handler else ()


def _connect(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if failure.code:
        return ("The server is temporarily unavailable. It usually recovers on its own: "
                "try again in a few minutes.",)
    usual = f" ({target.preset.label}: {target.preset.host}, port {target.preset.port})" if (
        target.preset.host) else ""
    reach = (f"Could not reach {target.host}:{target.port}. Check SMTP Host and SMTP Port"
             f"{usual}.")
    return tuple(filter(None, (reach, target.preset.extra_advice.get("connect"))))


def _tls(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if "starttls" in failure.text.lower():
        return ("The server did not offer STARTTLS, so your password was not sent. Check "
                "Security and Port (587 uses STARTTLS, 465 uses SSL/TLS).",)
    if not failure.transient:
        return ("The server's certificate could not be verified. Check the SMTP Host "
                "spelling; if your server uses a private CA, the operator can point "
                "SSL_CERT_FILE at it.",)
    return ("The secure connection broke off. Check Security and Port (587 uses STARTTLS, "
            "465 uses SSL/TLS) and try again.",)


def _login(failure: SendFailure, target: Target) -> tuple[str, ...]:
    fixes = [target.preset.auth_advice]
    if "2fa" in target.preset.extra_advice:
        fixes.append(target.preset.extra_advice["2fa"])
    if _organisational(failure, target):  # said first and plainly: no password will work
        fixes.insert(0, target.preset.extra_advice["org"])
    if not failure.code:
        fixes.insert(0, "The server offered no way to log in on this connection. Check "
                        "Security (STARTTLS on 587, SSL/TLS on 465).")
    return tuple(fixes)


def _organisational(failure: SendFailure, target: Target) -> bool:
    """A work or school account on a consumer preset (Microsoft 365 behind Outlook.com)."""
    preset = target.preset
    if "org" not in preset.extra_advice:
        return False
    if BASIC_AUTH_OFF in failure.text.lower():
        return True
    domain = target.username.rpartition("@")[2].lower()
    return bool(preset.personal_domains and domain
                and not re.fullmatch(preset.personal_domains, domain))


def _sender(failure: SendFailure, target: Target) -> tuple[str, ...]:
    if failure.transient:
        return ("The server asked us to try again later.",)
    from_advice = target.preset.extra_advice.get(
        "from", "The server does not let this login send as the From address. Use an "
        "address your account owns.")
    return (from_advice, "Edit the destination and set From to an address your account owns.")


def _recipients(failure: SendFailure, _target: Target) -> tuple[str, ...]:
    if failure.transient:
        return ("The server refused the recipients for now; it will be retried.",)
    return ("Check the To addresses of this destination.",)


def _message(failure: SendFailure, _target: Target) -> tuple[str, ...]:
    if failure.transient:
        return ("The server or the connection failed while taking the message. It is "
                "usually temporary.",)
    return ("The server refused the message itself.",)


_BY_STAGE = {
    Stage.CONNECT: _connect,
    Stage.TLS: _tls,
    Stage.LOGIN: _login,
    Stage.SENDER: _sender,
    Stage.RECIPIENTS: _recipients,
    Stage.MESSAGE: _message,
}


NO_HISTORY_ACCESS = frozenset(
    {"not_in_channel", "channel_not_found", "missing_scope", "thread_not_found"})
INVITE_FIX = ("The Xenocept app is not in this conversation. Type /invite @Xenocept in the "
              "channel and send again — or send only this message (it came with the shortcut "
              "and needs no history access).")
DM_FIX = ("This is a direct message between two people, which an app can never read. Send "
          "only this message (it came with the shortcut and needs no history access).")
SCOPE_FIX = ("If the app is already in the conversation, ask the operator to reinstall it "
             "with the history scopes (channels:history, groups:history, im:history, "
             "mpim:history).")


def for_slack_data(error: SlackDataError) -> Advice:
    """Slack refused a read: history access problems get the /invite advice."""
    detail = f"Slack answered {error.error}."
    if error.error not in NO_HISTORY_ACCESS:
        return Advice("Slack did not give us the conversation", detail,
                      ("Try again in a minute.",))
    headline = "Xenocept cannot read this conversation"
    if str(getattr(error, "channel_id", "")).startswith("D"):  # an IM (fetch.py sets it)
        return Advice(headline, detail, (DM_FIX,))
    fixes = (INVITE_FIX, SCOPE_FIX) if error.error == "missing_scope" else (INVITE_FIX,)
    return Advice(headline, detail, fixes)


def for_error(error: BaseException, target: Target | None = None) -> Advice:
    """Advice for anything else that stops a send; unknown errors get a neutral text."""
    if isinstance(error, SendFailure) and target is not None:
        return for_send_failure(error, target)
    if isinstance(error, HostNotAllowed):
        return Advice("This SMTP host is not allowed",
                      f"{error.host} resolves to {error.address}, a private or local address.",
                      ("The bot only connects to public mail servers. Ask the operator to "
                       "list this host in XENOCEPT_SMTP_ALLOW_HOSTS if it is meant to be "
                       "used.",))
    if isinstance(error, HostLookupFailed):
        usual = target.preset if target and target.preset.host else ICLOUD
        return Advice("SMTP host not found", f"{error.host} could not be found.",
                      (f"Check the SMTP Host spelling ({usual.label}: {usual.host}).",))
    if isinstance(error, SecretKeyError):
        return Advice(f"The password of {error.label!r} cannot be read",
                      f"It was encrypted with key {error.key_id}, which {error.reason}.",
                      ("Ask the operator to restore the key (XENOCEPT_SECRET_KEY or the key "
                       "file), or edit the destination and enter the password again.",))
    if isinstance(error, SlackDataError):
        return for_slack_data(error)
    if isinstance(error, DestinationGone):
        return Advice("The destination was removed", "It was removed before this could be sent.",
                      ("Pick another destination and send again.",))
    return Advice("Something went wrong on our side", "The error was logged for the operator.",
                  ("Try again in a minute.",))
