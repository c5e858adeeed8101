"""Small block helpers shared by the builders."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot import ids
from storage.models import DestinationPublic


def utf16_len(text: str) -> int:
    """Length as Slack counts it: UTF-16 code units, so an emoji counts two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip(text: str, limit: int, tail: str = "…") -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, never inside a surrogate pair,
    ending in ``tail`` when something was cut."""
    if utf16_len(text) <= limit:
        return text
    room, kept = limit - utf16_len(tail), []
    for char in text:
        room -= 2 if ord(char) > 0xFFFF else 1
        if room < 0:
            break
        kept.append(char)
    return "".join(kept).rstrip() + tail


def md(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 2000))])


def unavailable_note(labels: list[str], reason: str) -> ContextBlock:
    """Providers not offered here, and why."""
    return context(
        " and ".join(f"*{label}*" for label in labels) + f": not available here. {reason}"
    )


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text),
        action_id=action_id,
        value=value or None,
        style=style,
        confirm=confirm,
    )


def escape(text: str) -> str:
    """Slack mrkdwn escaping for user-typed text shown back to them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(moment: datetime, fallback: str = "") -> str:
    """A date Slack shows in the reader's own time zone."""
    stamp = int(moment.timestamp())
    text = fallback or moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{text}>"


def destination_buttons(destination: DestinationPublic) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"dest_actions:{destination.id}",
        elements=[
            button("Send test", ids.ACTION_TEST_DESTINATION, destination.id),
            button("Edit", ids.ACTION_EDIT_DESTINATION, destination.id),
            button("Remove", ids.ACTION_REMOVE_DESTINATION, destination.id, style="danger"),
        ],
    )


def test_state(destination: DestinationPublic) -> str:
    if destination.last_test_at is None:
        return "not tested yet" if destination.last_test_ok is None else ""
    when = slack_date(destination.last_test_at)
    if destination.last_test_ok is None:
        return f"changed since the last test ({when})"
    verdict = "✅ last test passed" if destination.last_test_ok else "❌ last test failed"
    return f"{verdict} {when}"


NOT_ALLOWED = "⛔ Not allowed by workspace policy: edit it or ask a workspace admin."


def destination_line(destination: DestinationPublic, *, allowed: bool = True) -> str:
    to = ", ".join(destination.recipients)
    line = (
        f"*{escape(destination.name)}* — {escape(destination.username)} → {escape(to)}\n"
        f"{destination.smtp_host}:{destination.smtp_port} · {test_state(destination)}"
    )
    return line if allowed else f"{line}\n{NOT_ALLOWED}"
