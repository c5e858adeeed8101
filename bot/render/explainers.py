"""Sentences the email carries below the conversation: the test send's explainer and the
guide to reading a Xenocept session.

Real sentences beside the images: an email that is mostly pictures reads as spam to
filters (SpamAssassin's HTML_IMAGE_ONLY rules) and says little to a person.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.model import Section


def explain_test_send(
    *,
    name: str,
    provider: str,
    host: str,
    port: int,
    security: str,
    username: str,
    sender: str,
    recipients: Sequence[str],
    revoke_hint: str = "",
) -> tuple[Section, ...]:
    """What a test send proves, the destination's settings (never the password), what next."""
    to = ", ".join(recipients)
    secured = (
        "without encryption (Security None)"
        if security == "None"
        else f"secured it with {security}"
    )
    proves = (
        f"Xenocept for Slack reached {host} on port {port} and {secured}.",
        f"The server accepted the login of {username}, so the password you saved works.",
        f"The server accepted {sender} as the sender and took this email for {to}.",
        "Sessions you forward from Slack travel the same way and look like this one: the "
        "annotated screenshot first, then each Note with its text and the close-up of the "
        "area it points at, then the bubbles and free texts.",
    )
    settings = (
        f"Name: {name}",
        f"Provider: {provider}",
        f"SMTP host: {host}",
        f"Port: {port}",
        f"Security: {security}",
        f"Username: {username}",
        f"From: {sender}",
        f"To: {to}",
        "Password: stored encrypted by the bot and never shown again, in Slack or in email.",
    )
    next_steps = tuple(
        filter(
            None,
            (
                "In Slack, open the menu of any message and choose Send to email to forward that "
                "message, its whole thread, or the Xenocept session it carries.",
                "Type /xenocept list to see your destinations, send another test, edit or remove "
                "one; /xenocept history lists your last 20 sends and what became of each.",
                "If this email landed in your junk folder, mark it as not junk so that the "
                "sessions you forward reach your inbox.",
                f"To disconnect, type /xenocept remove {name}. {revoke_hint}".strip(),
            ),
        )
    )
    return (
        Section("What this test proves", proves),
        Section("Settings of this destination", settings),
        Section("What to do next", next_steps),
    )


SESSION_GUIDE = Section(
    "How to read a Xenocept session",
    (
        "A Xenocept session is a screenshot annotated on the desktop: each numbered Note matches "
        "a marker on the screenshot, and its close-up shows the area the marker points at.",
        "Every Note's text is written out beside its picture, so the session reads without "
        "images too, and your mail search finds it.",
        "The screenshot and the close-ups travel with this email as PNG files, to open at full "
        "size or to keep with a bug report.",
        "Replies to this email stay in your mailbox and do not reach Slack: to answer the people "
        "in the conversation, follow View in Slack at the top.",
    ),
)
