"""The "Workspace policy" modal (admins only): what may leave the workspace."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ConversationMultiSelectElement,
    InputBlock,
    InputInteractiveElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot import ids
from bot.policy import KIND_LABELS, MAX_BLOCKED, ConversationKind, Policy
from bot.presets import PRESETS

DOMAINS_MAX = 3000  # characters: 200 domains of ordinary length


def _input(
    block_id: str, label: str, element: InputInteractiveElement, hint: str, *, optional: bool
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=element,
        hint=PlainTextObject(text=hint),
        optional=optional,
    )


def policy_modal(policy: Policy) -> View:
    providers = [Option(value=key, label=preset.label) for key, preset in PRESETS.items()]
    kinds = [Option(value=kind.value, label=KIND_LABELS[kind]) for kind in ConversationKind]
    sharing = Option(value=ids.SHARING_ALLOWED, label="Allow sharing sessions into Slack")
    blocks: list[Block] = [
        _input(
            ids.BLOCK_POLICY_DOMAINS,
            "Allowed recipient domains",
            PlainTextInputElement(
                action_id=ids.VALUE,
                multiline=True,
                initial_value="\n".join(policy.allowed_domains) or None,
                placeholder=PlainTextObject(text="example.com"),
                max_length=DOMAINS_MAX,
            ),
            "One per line or comma-separated. Empty allows any. Subdomains only when written "
            "as *.example.com.",
            optional=True,
        ),
        _input(
            ids.BLOCK_POLICY_PROVIDERS,
            "Allowed providers",
            CheckboxesElement(
                action_id=ids.VALUE,
                options=providers,
                initial_options=[o for o in providers if o.value in policy.allowed_providers]
                or None,
            ),
            "None checked allows all.",
            optional=True,
        ),
        _input(
            ids.BLOCK_POLICY_FROM,
            "Forward from",
            CheckboxesElement(
                action_id=ids.VALUE,
                options=kinds,
                initial_options=[o for o in kinds if o.value in policy.forward_from] or None,
            ),
            "The kinds of conversation members may forward from.",
            optional=True,
        ),
        _input(
            ids.BLOCK_POLICY_BLOCKED,
            "Blocked channels",
            ConversationMultiSelectElement(
                action_id=ids.VALUE,
                initial_conversations=list(policy.blocked_channels) or None,
                max_selected_items=MAX_BLOCKED,
                placeholder=PlainTextObject(text="Choose channels"),
            ),
            "Nothing from these may be forwarded.",
            optional=True,
        ),
        _input(
            ids.BLOCK_POLICY_MAX_THREAD,
            "Largest thread",
            PlainTextInputElement(
                action_id=ids.VALUE,
                initial_value=str(policy.max_thread_messages or "") or None,
                placeholder=PlainTextObject(text="No limit"),
                max_length=6,
            ),
            "The most messages one send may carry. Empty: no limit.",
            optional=True,
        ),
        _input(
            ids.BLOCK_POLICY_KEEP_DAYS,
            "Keep history for",
            PlainTextInputElement(
                action_id=ids.VALUE, initial_value=str(policy.keep_days), max_length=5
            ),
            "Days to keep delivery history and audit entries. 0 keeps them forever.",
            optional=True,
        ),
        _input(
            ids.BLOCK_POLICY_SHARING,
            "Sharing from Xenocept",
            CheckboxesElement(
                action_id=ids.VALUE,
                options=[sharing],
                initial_options=[sharing] if policy.allow_sharing else None,
            ),
            "Members may post sessions from their desktop with a share key "
            "(/xenocept connect). Unchecked: no key is made and none posts.",
            optional=True,
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.VIEW_POLICY_FORM,
        title=PlainTextObject(text="Workspace policy"),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    )
