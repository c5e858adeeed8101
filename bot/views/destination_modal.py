"""The setup modal: the provider choice, then one input per field of the guide's table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import ids
from bot.advice import Target, for_error, for_policy
from bot.errors import DomainNotAllowed, HostLookupFailed, HostNotAllowed, ProviderNotAllowed
from bot.forms import DestinationForm, ValidDestination
from bot.presets import Preset, not_offered, offered, preset_for
from bot.views import messages
from bot.views.common import context, unavailable_note, utf16_len
from storage.errors import DuplicateName, NotFound
from storage.models import DestinationPublic, ScreenshotMode, Security

CLEAR_TEXT_WARNING = (
    "⚠️ None sends your password and every email unencrypted, readable on "
    "the way: choose it only for a server on this machine or your own "
    "network."
)
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


def destination_modal(
    *,
    preset: Preset,
    destination: DestinationPublic | None = None,
    local_allowed: bool = False,
    values: DestinationForm | None = None,
    allowed_domains: Sequence[str] = (),
) -> View:
    """The setup modal for ``preset``: new (with the provider choice) or editing ``destination``.

    ``values`` pre-fills the form (the user's own values after switching provider); the
    password is never pre-filled. ``allowed_domains``, when the workspace's policy limits
    recipients, are named under To so people learn the rule before they meet it.
    """
    meta = FormMetadata(preset=preset.key, destination_id=destination.id if destination else None)
    form = values or initial_values(preset, destination)
    choice = [] if destination else _provider_choice(preset, local_allowed)
    return View(
        type="modal",
        callback_id=ids.VIEW_DESTINATION_FORM,
        title=PlainTextObject(text="Edit destination" if destination else "Add email destination"),
        submit=PlainTextObject(text="Save and test"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=meta.dump(),
        blocks=[
            *choice,
            *_fields(preset, form, editing=destination is not None, domains=allowed_domains),
        ],
    )


def initial_values(preset: Preset, destination: DestinationPublic | None) -> DestinationForm:
    if destination is None:
        return DestinationForm(
            name=preset.default_name,
            host=preset.host,
            port=str(preset.port),
            security=preset.security.value,
            screenshot_mode=ScreenshotMode.INLINE.value,
        )
    d = destination
    return DestinationForm(
        name=d.name,
        host=d.smtp_host,
        port=str(d.smtp_port),
        security=str(d.security),
        username=d.username,
        from_address=d.from_address,
        to=recipients_text(d.recipients),
        screenshot_mode=str(d.screenshot_mode),
    )


MULTILINE_MAX = 3000  # Slack's largest max_length for a text input


def recipients_text(recipients: Sequence[str]) -> str:
    """The To field's text again, within the field's max_length: what was typed fitted it,
    and a comma alone is never longer than what separated the addresses then."""
    spaced = ", ".join(recipients)
    return spaced if utf16_len(spaced) <= MULTILINE_MAX else ",".join(recipients)


def _provider_choice(preset: Preset, local_allowed: bool) -> list[Block]:
    options = [Option(value=p.key, label=p.label) for p in offered(local_allowed=local_allowed)]
    chosen = next((o for o in options if o.value == preset.key), options[0])
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.BLOCK_PROVIDER,
            label=PlainTextObject(text="Provider"),
            dispatch_action=True,
            element=StaticSelectElement(
                action_id=ids.ACTION_CHOOSE_PROVIDER, options=options, initial_option=chosen
            ),
            hint=PlainTextObject(
                text="Choosing one fills in its server settings; what you typed "
                "in Username, From and To stays."
            ),
        )
    ]
    blocks += [
        unavailable_note([p.label for p in presets], reason)
        for reason, presets in not_offered(local_allowed=local_allowed).items()
    ]
    return blocks


def _fields(
    preset: Preset, form: DestinationForm, *, editing: bool, domains: Sequence[str]
) -> list[Block]:
    # Fields the provider dictates get an action_id per provider: Slack keeps what was typed
    # in an element whose block_id and action_id survive a views.update, so a new id is what
    # lets the new provider's defaults show.
    own = f"{ids.VALUE}.{preset.key}"
    return [
        context(
            f"*{preset.label}* · "
            + " ".join(f"{n}. {step}" for n, step in enumerate(preset.setup_steps, 1))
        ),
        _text(
            ids.BLOCK_NAME,
            "Name",
            form.name,
            action_id=own,
            hint="How you pick this destination in Slack. Unique among yours.",
        ),
        _text(ids.BLOCK_HOST, "SMTP Host", form.host, action_id=own),
        _text(ids.BLOCK_PORT, "SMTP Port", form.port, action_id=own, hint=_port_hint(preset)),
        _select(
            ids.BLOCK_SECURITY,
            "Security",
            SECURITY_LABELS,
            form.security,
            action_id=own,
            hint=None if preset.plaintext_forbidden else CLEAR_TEXT_WARNING,
        ),
        _text(
            ids.BLOCK_USERNAME,
            "Username",
            form.username,
            hint=preset.username_hint,
            placeholder=f"jane@{preset.example_domain}"
            if preset.full_address
            else "you@example.com",
        ),
        _password(preset, editing=editing, action_id=own),
        _text(
            ids.BLOCK_FROM,
            "From",
            form.from_address,
            optional=True,
            hint="Left empty, From is the Username. " + preset.from_hint,
        ),
        _text(
            ids.BLOCK_TO,
            "To",
            form.to,
            hint=messages.to_hint(domains),
            multiline=True,
        ),
        _select(
            ids.BLOCK_SCREENSHOT,
            "Screenshot",
            SCREENSHOT_LABELS,
            form.screenshot_mode or ScreenshotMode.INLINE,
            hint="How a Xenocept session's annotated screenshot appears in the email.",
        ),
    ]


def _port_hint(preset: Preset) -> str | None:
    if not preset.host:
        return "587 with STARTTLS or 465 with SSL/TLS, as your provider documents."
    return " ".join(filter(None, (f"{preset.label}: {preset.pairs_text}.", preset.port_note)))


def _text(
    block_id: str,
    label: str,
    initial: str,
    *,
    hint: str | None = None,
    placeholder: str | None = None,
    optional: bool = False,
    multiline: bool = False,
    action_id: str = ids.VALUE,
) -> InputBlock:
    element = PlainTextInputElement(
        action_id=action_id,
        initial_value=initial or None,
        multiline=multiline,
        placeholder=PlainTextObject(text=placeholder) if placeholder else None,
        max_length=MULTILINE_MAX if multiline else 255,
    )
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=element,
        hint=PlainTextObject(text=hint) if hint else None,
        optional=optional,
    )


def _password(preset: Preset, *, editing: bool, action_id: str) -> InputBlock:
    """Never pre-filled: a stored password is not shown again."""
    hint = f"{UNCHANGED_HINT}. {preset.password_hint}" if editing else preset.password_hint
    element = PlainTextInputElement(
        action_id=action_id,
        max_length=255,
        placeholder=PlainTextObject(
            text=UNCHANGED_HINT if editing else preset.password_placeholder
        ),
    )
    return InputBlock(
        block_id=ids.BLOCK_PASSWORD,
        label=PlainTextObject(text=preset.password_label),
        element=element,
        hint=PlainTextObject(text=hint),
        optional=editing or preset.password.optional,
    )


def _select(
    block_id: str,
    label: str,
    labels: dict[str, str] | dict[Security, str] | dict[ScreenshotMode, str],
    initial: str,
    *,
    hint: str | None = None,
    action_id: str = ids.VALUE,
) -> InputBlock:
    options = [Option(value=str(value), label=text) for value, text in labels.items()]
    chosen = next((o for o in options if o.value == str(initial)), options[0])
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=StaticSelectElement(action_id=action_id, options=options, initial_option=chosen),
        hint=PlainTextObject(text=hint) if hint else None,
    )


def form_errors(error: Exception, valid: ValidDestination) -> dict[str, str]:
    """The setup form's inline error for a save that was refused, on the field it is
    about."""
    fields = valid.fields
    if isinstance(error, (HostNotAllowed, HostLookupFailed)):
        target = Target(preset_for(fields.provider), fields.smtp_host, fields.smtp_port)
        advice = for_error(error, target)
        return {ids.BLOCK_HOST: f"{advice.detail} {' '.join(advice.fixes)}"}
    if isinstance(error, DomainNotAllowed):
        return {ids.BLOCK_TO: for_policy(error)}
    if isinstance(error, ProviderNotAllowed):
        return {ids.BLOCK_PROVIDER: for_policy(error)}
    if isinstance(error, DuplicateName):
        return {ids.BLOCK_NAME: messages.duplicate_name(fields.name)}
    if isinstance(error, NotFound):  # an id that is not this user's: refuse, change nothing
        return {ids.BLOCK_NAME: messages.FORM_NOT_YOURS}
    # StorageUnavailable (a full disk): the form stays open with what was typed
    return {ids.BLOCK_NAME: messages.NOT_SAVED}
