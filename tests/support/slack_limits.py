"""Slack's documented Block Kit limits, checked on every payload the stand-in records.

``payload_problems(stand_in)`` walks what the app sent: views (views.open/push/update/
publish), messages (chat.postMessage/update/postEphemeral, response_url bodies) and the
bodies of HTTP acks (slash command replies, view_submission response actions, options).
Each limit names the reference page that states it. Lengths are counted in UTF-16 code
units, as Slack's own clients count them, so a cut that is safe here is safe there too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.slack_standin import SlackStandIn

REF = "https://docs.slack.dev/reference"
BLOCKS = f"{REF}/block-kit/blocks"  # "up to 50 blocks in each message, and 100 blocks in
# modals or Home tabs"
VIEWS = f"{REF}/views"  # title/submit/close 24, private_metadata 3000, callback_id 255
POST_MESSAGE = f"{REF}/methods/chat.postMessage"  # text truncated beyond 40,000 characters
SECTION = f"{BLOCKS}/section-block"  # text 3000; fields 10 × 2000; block_id 255
HEADER = f"{BLOCKS}/header-block"  # plain_text 150
CONTEXT = f"{BLOCKS}/context-block"  # 10 elements
ACTIONS = f"{BLOCKS}/actions-block"  # 25 elements
INPUT = f"{BLOCKS}/input-block"  # label 2000, hint 2000
IMAGE = f"{BLOCKS}/image-block"  # alt_text 2000, image_url 3000
BUTTON = f"{REF}/block-kit/block-elements/button-element"  # text 75, value 2000, url 3000,
# action_id 255 "unique among all other action_ids in the containing block"
SELECT = f"{REF}/block-kit/block-elements/select-menu-element"  # options/groups 100,
# placeholder 150, initial_option "must exactly match one of the options"
OVERFLOW = f"{REF}/block-kit/block-elements/overflow-menu-element"  # 1..5 options
CHOICES = f"{REF}/block-kit/block-elements/radio-button-group-element"  # 10 options
TEXT_INPUT = f"{REF}/block-kit/block-elements/plain-text-input-element"  # max_length 1..3000
OPTION = f"{REF}/block-kit/composition-objects/option-object"  # text 75, value 150
CONFIRM = f"{REF}/block-kit/composition-objects/confirmation-dialog-object"  # plain_text
# title 100, text 300, confirm 30, deny 30
TEXT = f"{REF}/block-kit/composition-objects/text-object"  # 1..3000
SUGGESTIONS = f"{REF}/block-kit/block-elements/select-menu-element#external_select"

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
VIEW_BYTES = 250_000  # views.open/push/update: view_too_large


def units(text: str) -> int:
    """Length as Slack's clients count it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _Check:
    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []

    def fail(self, path: str, what: str, page: str) -> None:
        self.problems.append(f"{self.where}: {path}: {what} ({page})")

    def length(self, path: str, text: object, limit: int, page: str, *, least: int = 0) -> None:
        if not isinstance(text, str):
            self.fail(path, f"expected a string, got {type(text).__name__}", page)
            return
        size = units(text)
        if size > limit or size < least:
            shown = text if len(text) < 60 else text[:57] + "…"
            self.fail(path, f"{size} characters, allowed {least}..{limit}: {shown!r}", page)

    def text_object(
        self, path: str, obj: object, limit: int, page: str, *, plain: bool = False
    ) -> None:
        if not isinstance(obj, Mapping):
            self.fail(path, "expected a text object", TEXT)
            return
        if plain and obj.get("type") != "plain_text":
            self.fail(path, f"must be plain_text, is {obj.get('type')!r}", page)
        self.length(f"{path}.text", obj.get("text"), min(limit, 3000), page, least=1)

    # ---------------------------------------------------------------- surfaces

    def view(self, view: Mapping[str, Any]) -> None:
        kind = view.get("type")
        size = len(json.dumps(view).encode())
        if size > VIEW_BYTES:
            self.fail("view", f"{size} bytes, above Slack's view_too_large", VIEWS)
        if kind == "modal":
            self.text_object("title", view.get("title"), 24, VIEWS, plain=True)
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    self.text_object(key, view[key], 24, VIEWS, plain=True)
        for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
            if view.get(key):
                self.length(key, view[key], limit, VIEWS)
        self.blocks(view.get("blocks") or [], VIEW_BLOCKS)

    def message(self, message: Mapping[str, Any]) -> None:
        if message.get("text") is not None:
            self.length("text", message["text"], 40_000, POST_MESSAGE)
        blocks = message.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks:
            self.blocks(blocks, MESSAGE_BLOCKS)

    def options_response(self, body: Mapping[str, Any]) -> None:
        options = body.get("options")
        groups = body.get("option_groups")
        if options is not None:
            self.options("options", options, 100, SUGGESTIONS)
        if groups is not None:
            self.count("option_groups", groups, 100, SUGGESTIONS)
            for i, group in enumerate(groups):
                self.text_object(f"option_groups[{i}].label", group.get("label"), 75, SELECT)
                self.options(f"option_groups[{i}].options", group.get("options"), 100, SELECT)

    # ---------------------------------------------------------------- blocks

    def count(self, path: str, items: object, limit: int, page: str, *, least: int = 0) -> None:
        if not isinstance(items, list):
            self.fail(path, "expected a list", page)
        elif not least <= len(items) <= limit:
            self.fail(path, f"{len(items)} items, allowed {least}..{limit}", page)

    def blocks(self, blocks: list[Any], limit: int) -> None:
        self.count("blocks", blocks, limit, BLOCKS)
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            path = f"blocks[{i}]"
            block_id = block.get("block_id")
            if block_id is not None:
                self.length(f"{path}.block_id", block_id, 255, SECTION)
                if block_id in seen:
                    self.fail(path, f"block_id {block_id!r} repeated", SECTION)
                seen.add(block_id)
            self.block(path, block)

    def block(self, path: str, block: Mapping[str, Any]) -> None:
        kind = block.get("type")
        if kind == "section":
            if block.get("text") is not None:
                self.text_object(f"{path}.text", block["text"], 3000, SECTION)
            fields = block.get("fields")
            if fields is not None:
                self.count(f"{path}.fields", fields, 10, SECTION)
                for j, item in enumerate(fields):
                    self.text_object(f"{path}.fields[{j}]", item, 2000, SECTION)
            if block.get("text") is None and not fields:
                self.fail(path, "a section needs text or fields", SECTION)
            if block.get("accessory") is not None:
                self.elements(f"{path}.accessory", [block["accessory"]])
        elif kind == "header":
            self.text_object(f"{path}.text", block.get("text"), 150, HEADER, plain=True)
        elif kind == "context":
            self.count(f"{path}.elements", block.get("elements"), 10, CONTEXT, least=1)
            for j, item in enumerate(block.get("elements") or []):
                if item.get("type") in {"plain_text", "mrkdwn"}:
                    self.text_object(f"{path}.elements[{j}]", item, 3000, CONTEXT)
        elif kind == "actions":
            self.count(f"{path}.elements", block.get("elements"), 25, ACTIONS, least=1)
            self.elements(f"{path}.elements", block.get("elements") or [])
        elif kind == "input":
            self.text_object(f"{path}.label", block.get("label"), 2000, INPUT, plain=True)
            if block.get("hint") is not None:
                self.text_object(f"{path}.hint", block["hint"], 2000, INPUT, plain=True)
            self.elements(f"{path}.element", [block.get("element") or {}])
        elif kind == "image":
            self.length(f"{path}.alt_text", block.get("alt_text"), 2000, IMAGE)
            if block.get("image_url") is not None:
                self.length(f"{path}.image_url", block["image_url"], 3000, IMAGE)

    # ---------------------------------------------------------------- elements

    def elements(self, path: str, elements: Iterable[Mapping[str, Any]]) -> None:
        actions: set[str] = set()
        for j, element in enumerate(elements):
            where = f"{path}[{j}]"
            action_id = element.get("action_id")
            if action_id is not None:
                self.length(f"{where}.action_id", action_id, 255, BUTTON)
                if action_id in actions:
                    self.fail(where, f"action_id {action_id!r} repeated in its block", BUTTON)
                actions.add(action_id)
            if element.get("confirm") is not None:
                self.confirm(f"{where}.confirm", element["confirm"])
            if element.get("placeholder") is not None:
                self.text_object(
                    f"{where}.placeholder", element["placeholder"], 150, SELECT, plain=True
                )
            self.element(where, element)

    def element(self, path: str, element: Mapping[str, Any]) -> None:
        kind = element.get("type")
        if kind == "button":
            self.text_object(f"{path}.text", element.get("text"), 75, BUTTON, plain=True)
            if element.get("value") is not None:
                self.length(f"{path}.value", element["value"], 2000, BUTTON)
            if element.get("url") is not None:
                self.length(f"{path}.url", element["url"], 3000, BUTTON)
        elif kind in {"static_select", "multi_static_select"}:
            options = list(self._all_options(element))
            if element.get("options") is not None:
                self.options(f"{path}.options", element["options"], 100, SELECT)
            for i, group in enumerate(element.get("option_groups") or []):
                self.options(
                    f"{path}.option_groups[{i}].options", group.get("options"), 100, SELECT
                )
            self._initial(path, element, options, SELECT)
        elif kind in {"external_select", "multi_external_select"}:
            for key in ("initial_option",):
                if element.get(key) is not None:
                    self.option(f"{path}.{key}", element[key], SELECT)
        elif kind == "overflow":
            self.options(f"{path}.options", element.get("options"), 5, OVERFLOW, least=1)
        elif kind in {"radio_buttons", "checkboxes"}:
            self.options(f"{path}.options", element.get("options"), 10, CHOICES, least=1)
            self._initial(path, element, list(element.get("options") or []), CHOICES)
        elif kind == "plain_text_input":
            self._text_input(path, element)

    def _text_input(self, path: str, element: Mapping[str, Any]) -> None:
        most = element.get("max_length", 3000)
        if not isinstance(most, int) or not 1 <= most <= 3000:
            self.fail(f"{path}.max_length", f"{most!r}, allowed 1..3000", TEXT_INPUT)
            most = 3000
        least = element.get("min_length", 0)
        if not isinstance(least, int) or not 0 <= least <= most:
            self.fail(f"{path}.min_length", f"{least!r}, allowed 0..{most}", TEXT_INPUT)
        if element.get("initial_value") is not None:
            self.length(f"{path}.initial_value", element["initial_value"], most, TEXT_INPUT)

    @staticmethod
    def _all_options(element: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        yield from element.get("options") or []
        for group in element.get("option_groups") or []:
            yield from group.get("options") or []

    def _initial(
        self, path: str, element: Mapping[str, Any], options: list[Any], page: str
    ) -> None:
        chosen = list(element.get("initial_options") or [])
        if element.get("initial_option") is not None:
            chosen.append(element["initial_option"])
        for option in chosen:
            if option not in options:
                self.fail(f"{path}.initial_option", f"{option!r} is not among the options", page)

    def options(self, path: str, options: object, limit: int, page: str, *, least: int = 0) -> None:
        self.count(path, options, limit, page, least=least)
        for i, option in enumerate(options if isinstance(options, list) else []):
            self.option(f"{path}[{i}]", option, page)

    def option(self, path: str, option: Mapping[str, Any], page: str) -> None:
        self.text_object(f"{path}.text", option.get("text"), 75, OPTION)
        self.length(f"{path}.value", option.get("value"), 150, OPTION)
        if option.get("description") is not None:
            self.text_object(f"{path}.description", option["description"], 75, OPTION)

    def confirm(self, path: str, confirm: Mapping[str, Any]) -> None:
        for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
            self.text_object(f"{path}.{key}", confirm.get(key), limit, CONFIRM, plain=True)


def view_problems(view: Mapping[str, Any], where: str = "view") -> list[str]:
    check = _Check(where)
    check.view(view)
    return check.problems


def message_problems(message: Mapping[str, Any], where: str = "message") -> list[str]:
    check = _Check(where)
    check.message(message)
    return check.problems


def ack_problems(body: object, where: str = "ack") -> list[str]:
    """An HTTP ack body: a message, a view_submission response action or options."""
    if not isinstance(body, Mapping):
        return []
    check = _Check(where)
    if "options" in body or "option_groups" in body:
        check.options_response(body)
    elif body.get("response_action") in {"update", "push"}:
        check.view(body.get("view") or {})
    elif "text" in body or "blocks" in body:
        check.message(body)
    return check.problems


_VIEW_METHODS = {"views.open", "views.push", "views.update", "views.publish"}
# files.completeUploadExternal takes a message's blocks (the share's message).
_MESSAGE_METHODS = {
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "files.completeUploadExternal",
}


def payload_problems(stand_in: SlackStandIn) -> list[str]:
    """Every limit broken by anything the app sent to (or answered) the stand-in."""
    problems: list[str] = []
    for n, call in enumerate(stand_in.calls):
        where = f"{call.method} #{n}"
        if call.method in _VIEW_METHODS:
            view = call.params.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            if isinstance(view, Mapping):
                problems += view_problems(view, where)
        elif call.method in _MESSAGE_METHODS:
            problems += message_problems(call.params, where)
    for key, body in stand_in.response_url_posts:
        problems += message_problems(body, f"response_url {key}")
    for n, body in enumerate(stand_in.ack_bodies):
        problems += ack_problems(body, f"HTTP ack #{n}")
    return problems
