"""The "Send to email" modal, and the one shown to users without destinations."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import ids
from bot.render.headers import clean_header
from bot.render.model import Directory
from bot.render.mrkdwn import to_plain
from bot.views.common import button, clip, context, md
from bot.views.messages import NOT_SAVED
from storage.models import DestinationPublic

SCOPES = {"thread": "Whole thread", "message": "Only this message"}
SUBJECT_WORDS = 8
SUBJECT_MAX = 200  # the subject field's max_length; the prefill must fit it
SEARCH_FROM = 10  # more destinations than this: a searchable menu instead of a long list
OPTIONS_MAX = 100  # options one menu (or one search answer) may carry
LABELLED_LINK = re.compile(r"<(?![@#!])[^|>]*\|([^>]*)>")


@dataclass(frozen=True)
class SendMetadata:
    draft_id: str

    def dump(self) -> str:
        return json.dumps({"draft": self.draft_id})

    @classmethod
    def load(cls, text: str) -> SendMetadata:
        try:
            return cls(draft_id=str(json.loads(text or "{}").get("draft") or ""))
        except (ValueError, AttributeError):
            return cls(draft_id="")


def prefill_subject(where: str, text: str, directory: Directory | None = None) -> str:
    """``#channel: first words of the thread…`` read as the email reads the message.

    The same markup conversion as the email: names for mentions, emoji as characters,
    styling markers gone and the words inside them kept (``my_var`` stays whole).
    ``where`` is a conversation label: "#name", or a kind such as "a direct message",
    which starts the subject as "Direct message".
    """
    if not where.startswith("#"):
        kind = where.removeprefix("a ")
        where = kind[:1].upper() + kind[1:]
    labelled = LABELLED_LINK.sub(r"\1", text)  # a subject keeps a link's words, not its URL
    plain = to_plain(labelled, directory or Directory())
    words = [word for word in plain.split() if word != ">"]
    head = " ".join(words[:SUBJECT_WORDS]) + ("…" if len(words) > SUBJECT_WORDS else "")
    return clip(clean_header(f"{where}: {head}" if head else where), SUBJECT_MAX)


def send_modal(
    *,
    destinations: Sequence[DestinationPublic],
    default_id: str | None,
    scope: str,
    subject: str,
    metadata: SendMetadata,
) -> View:
    default = next((d for d in destinations if d.id == default_id), destinations[0])
    chosen = destination_option(default)
    element: StaticSelectElement | ExternalDataSelectElement
    if len(destinations) > SEARCH_FROM:
        # Slack asks the app for the options as the user types (an owner-checked search).
        element = ExternalDataSelectElement(
            action_id=ids.ACTION_PICK_DESTINATION,
            initial_option=chosen,
            min_query_length=0,
            placeholder=PlainTextObject(text="Type to search your destinations"),
        )
    else:
        element = StaticSelectElement(
            action_id=ids.VALUE,
            initial_option=chosen,
            options=[destination_option(d) for d in destinations],
        )
    blocks = [
        InputBlock(
            block_id=ids.BLOCK_SEND_DESTINATION,
            label=PlainTextObject(text="Destination"),
            element=element,
        ),
        InputBlock(
            block_id=ids.BLOCK_SEND_SCOPE,
            label=PlainTextObject(text="What to send"),
            element=StaticSelectElement(
                action_id=ids.VALUE,
                options=[Option(value=k, label=v) for k, v in SCOPES.items()],
                initial_option=Option(value=scope, label=SCOPES[scope]),
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_SEND_SUBJECT,
            label=PlainTextObject(text="Subject"),
            element=PlainTextInputElement(
                action_id=ids.VALUE, initial_value=subject, max_length=200
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_SEND_NOTE,
            label=PlainTextObject(text="Note"),
            optional=True,
            hint=PlainTextObject(text="Shown above the conversation."),
            element=PlainTextInputElement(action_id=ids.VALUE, multiline=True, max_length=3000),
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.VIEW_SEND_FORM,
        title=PlainTextObject(text="Send to email"),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata.dump(),
        blocks=blocks,
    )


def destination_option(destination: DestinationPublic) -> Option:
    return Option(value=destination.id, label=clip(_label(destination), 75))


def destination_options(
    destinations: Sequence[DestinationPublic], query: str
) -> list[dict[str, Any]]:
    """The answer to a search in the destination menu: matching names or recipients first
    by name, at most what one menu may carry."""
    words = query.casefold().split()
    found = [
        d
        for d in destinations
        if all(w in f"{d.name} {' '.join(d.recipients)}".casefold() for w in words)
    ]
    return [destination_option(d).to_dict() for d in found[:OPTIONS_MAX]]


def _label(destination: DestinationPublic) -> str:
    failing = " — last test failed" if destination.last_test_ok is False else ""
    return f"{destination.name} ({', '.join(destination.recipients)}){failing}"


def no_destination_modal() -> View:
    return View(
        type="modal",
        title=PlainTextObject(text="Send to email"),
        close=PlainTextObject(text="Close"),
        blocks=[
            md(
                "You have no email destination yet, so there is nowhere to send this. Add one "
                "(iCloud Mail or any SMTP server): it takes a minute and sends a test session."
            ),
            ActionsBlock(
                elements=[
                    button("Add destination", ids.ACTION_PUSH_ADD_DESTINATION, style="primary")
                ]
            ),
            context("Then use *Send to email* on the message again."),
        ],
    )


def not_saved_modal() -> View:
    """The shortcut could not keep what it needs to send (the bot's database is full)."""
    return View(
        type="modal",
        title=PlainTextObject(text="Send to email"),
        close=PlainTextObject(text="Close"),
        blocks=[md(NOT_SAVED)],
    )
