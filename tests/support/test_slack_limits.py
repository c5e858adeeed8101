"""The payload-limits check finds each broken limit (and passes what Slack accepts)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.slack_limits import (
    ack_problems,
    message_problems,
    payload_problems,
    units,
    view_problems,
)
from tests.support.slack_standin import SlackStandIn


def text(value: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": value}


def section(value: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": text(value, "mrkdwn"), **extra}


def option(value: str, label: str | None = None) -> dict[str, Any]:
    return {"text": text(label or value), "value": value}


def modal(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": text("Send"), "blocks": list(blocks), **extra}


def button(**extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": text("Go"), "action_id": "go", **extra}


CONFIRM = {
    "title": text("Sure?"),
    "text": text("Really."),
    "confirm": text("Yes"),
    "deny": text("No"),
}


def test_what_slack_accepts_passes() -> None:
    select = {
        "type": "static_select",
        "action_id": "a",
        "options": [option("1"), option("2")],
        "initial_option": option("2"),
    }
    view = modal(
        section(),
        {"type": "input", "block_id": "b", "label": text("To"), "element": select},
        {"type": "actions", "elements": [button(confirm=CONFIRM)]},
    )
    assert view_problems(view) == []
    assert message_problems({"text": "x", "blocks": [section()] * 50}) == []


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (modal(*[section()] * 101), "blocks: 101 items"),
        (modal(section(), title=text("A title longer than 24 ch")), "title.text: 25 characters"),
        (modal(section(), private_metadata="x" * 3001), "private_metadata: 3001"),
        (modal(section("x" * 3001)), "blocks[0].text.text: 3001"),
        (modal(section(block_id="b"), section(block_id="b")), "block_id 'b' repeated"),
        (modal(section(block_id="b" * 256)), "block_id: 256"),
        (modal({"type": "header", "text": text("h" * 151)}), "blocks[0].text.text: 151"),
        (modal({"type": "actions", "elements": [button(), button()]}), "action_id 'go' repeated"),
        (modal({"type": "actions", "elements": [button(text=text("b" * 76))]}), ".text.text: 76"),
        (
            modal(
                {
                    "type": "actions",
                    "elements": [button(confirm={**CONFIRM, "text": text("Really.", "mrkdwn")})],
                }
            ),
            "confirm.text: must be plain_text",
        ),
        (
            modal(
                section(
                    accessory={
                        "type": "static_select",
                        "action_id": "s",
                        "options": [option(str(n)) for n in range(101)],
                    }
                )
            ),
            "accessory[0].options: 101 items",
        ),
        (
            modal(
                section(
                    accessory={
                        "type": "static_select",
                        "action_id": "s",
                        "options": [option("1")],
                        "initial_option": option("2"),
                    }
                )
            ),
            "is not among the options",
        ),
        (
            modal(
                section(
                    accessory={
                        "type": "static_select",
                        "action_id": "s",
                        "options": [option("1", "o" * 76)],
                    }
                )
            ),
            "options[0].text.text: 76",
        ),
        (
            modal(
                section(
                    accessory={
                        "type": "static_select",
                        "action_id": "s",
                        "options": [option("v" * 151)],
                    }
                )
            ),
            "options[0].value: 151",
        ),
        (
            modal(
                {
                    "type": "input",
                    "label": text("To"),
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "t",
                        "max_length": 10,
                        "initial_value": "x" * 11,
                    },
                }
            ),
            "initial_value: 11 characters",
        ),
        (
            modal(
                {
                    "type": "input",
                    "label": text("To"),
                    "element": {"type": "plain_text_input", "action_id": "t", "max_length": 3001},
                }
            ),
            "max_length",
        ),
    ],
)
def test_each_broken_limit_is_named(payload: dict[str, Any], words: str) -> None:
    problems = view_problems(payload)
    assert any(words in p for p in problems), problems
    assert all("https://docs.slack.dev/reference" in p for p in problems)


def test_messages_and_acks() -> None:
    assert "blocks: 51 items" in message_problems({"blocks": [section()] * 51})[0]
    assert (
        "options: 101 items" in ack_problems({"options": [option(str(n)) for n in range(101)]})[0]
    )
    assert (
        "blocks: 101"
        in ack_problems({"response_action": "update", "view": modal(*[section()] * 101)})[0]
    )
    assert ack_problems({"response_action": "errors", "errors": {"b": "x"}}) == []


def test_lengths_count_utf16_code_units() -> None:
    assert units("🔥") == 2 and units("é") == 1
    assert view_problems(modal(section(), title=text("🔥" * 12))) == []
    assert view_problems(modal(section(), title=text("🔥" * 13)))


async def test_payload_problems_reads_calls_response_urls_and_acks() -> None:
    async with SlackStandIn() as slack:
        slack.response_url_posts.append(("1", {"blocks": [section()] * 51}))
        slack.ack_bodies.append({"text": "x" * 40_001})
        problems = payload_problems(slack)
    assert [p.split(":")[0] for p in problems] == ["response_url 1", "HTTP ack #0"]
