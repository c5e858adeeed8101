"""The setup modal: one input per field of the iCloud guide's table."""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import ids
from bot.presets import Preset
from bot.views.common import context
from storage.models import Destination, ScreenshotMode, Security

SECURITY_LABELS = {
    Security.STARTTLS: "STARTTLS (port 587)",
    Security.SSL: "SSL/TLS (implicit, usually port 465)",
    Security.NONE: "None (unencrypted)",
}
SCREENSHOT_LABELS = {
    ScreenshotMode.INLINE: "Inline in the email",
    ScreenshotMode.ATTACHED: "Attached",
}
UNCHANGED_HINT = "unchanged — leave empty to keep"


@dataclass(frozen=True)
class FormMetadata:
    """What the modal carries between opening and submit (never a secret)."""

    preset: str
    destination_id: str | None = None

    def dump(self) -> str:
        return json.dumps({"p": self.preset, "d": self.destination_id})

    @classmethod
    def load(cls, text: str) -> FormMetadata:
        try:
            data = json.loads(text or "{}")
            return cls(preset=str(data.get("p") or "icloud"), destination_id=data.get("d"))
        except (ValueError, AttributeError):
            return cls(preset="icloud")


def destination_modal(*, preset: Preset, destination: Destination | None = None) -> View:
    meta = FormMetadata(preset=preset.key, destination_id=destination.id if destination else None)
    d = destination
    blocks = [
        context(f"*{preset.label}* · " + " ".join(
            f"{n}. {step}" for n, step in enumerate(preset.setup_steps, 1))),
        _text(ids.BLOCK_NAME, "Name", d.name if d else preset.default_name,
              hint="How you pick this destination in Slack. Unique among yours."),
        _text(ids.BLOCK_HOST, "SMTP Host", d.smtp_host if d else preset.host),
        _text(ids.BLOCK_PORT, "SMTP Port", str(d.smtp_port if d else preset.port)),
        _select(ids.BLOCK_SECURITY, "Security", SECURITY_LABELS,
                d.security if d else preset.security),
        _text(ids.BLOCK_USERNAME, "Username", d.username if d else "",
              hint=preset.username_hint, placeholder="jane@icloud.com"
              if preset.key == "icloud" else "you@example.com"),
        _password(preset, editing=d is not None),
        _text(ids.BLOCK_FROM, "From", d.from_address if d else "", optional=True,
              hint="Left empty, From is the Username. " + preset.from_hint),
        _text(ids.BLOCK_TO, "To", ", ".join(d.recipients) if d else "",
              hint="Where sessions are delivered: one or more addresses, separated by commas.",
              multiline=True),
        _select(ids.BLOCK_SCREENSHOT, "Screenshot", SCREENSHOT_LABELS,
                d.screenshot_mode if d else ScreenshotMode.INLINE,
                hint="How a Xenocept session's annotated screenshot appears in the email."),
    ]
    return View(
        type="modal",
        callback_id=ids.VIEW_DESTINATION_FORM,
        title=PlainTextObject(text="Edit destination" if d else "Add email destination"),
        submit=PlainTextObject(text="Save and test"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=meta.dump(),
        blocks=blocks,
    )


def _text(
    block_id: str, label: str, initial: str, *, hint: str | None = None,
    placeholder: str | None = None, optional: bool = False, multiline: bool = False,
) -> InputBlock:
    element = PlainTextInputElement(
        action_id=ids.VALUE, initial_value=initial or None, multiline=multiline,
        placeholder=PlainTextObject(text=placeholder) if placeholder else None,
        max_length=3000 if multiline else 255,
    )
    return InputBlock(block_id=block_id, label=PlainTextObject(text=label), element=element,
                      hint=PlainTextObject(text=hint) if hint else None, optional=optional)


def _password(preset: Preset, *, editing: bool) -> InputBlock:
    hint = f"{UNCHANGED_HINT}. {preset.password_hint}" if editing else preset.password_hint
    element = PlainTextInputElement(
        action_id=ids.VALUE, max_length=255,
        placeholder=PlainTextObject(
            text=UNCHANGED_HINT if editing else (
                "abcd-efgh-ijkl-mnop" if preset.key == "icloud" else "app password")),
    )
    return InputBlock(
        block_id=ids.BLOCK_PASSWORD,
        label=PlainTextObject(text="App-specific password" if preset.key == "icloud"
                              else "Password"),
        element=element, hint=PlainTextObject(text=hint), optional=editing,
    )


def _select(
    block_id: str, label: str, labels: dict[str, str] | dict[Security, str]
    | dict[ScreenshotMode, str], initial: str, *, hint: str | None = None,
) -> InputBlock:
    options = [Option(value=str(value), label=text) for value, text in labels.items()]
    chosen = next((o for o in options if o.value == str(initial)), options[0])
    return InputBlock(
        block_id=block_id, label=PlainTextObject(text=label),
        element=StaticSelectElement(action_id=ids.VALUE, options=options, initial_option=chosen),
        hint=PlainTextObject(text=hint) if hint else None,
    )
