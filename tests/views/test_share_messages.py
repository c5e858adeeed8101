"""Sharing's builders: the key shown once, the keys list, and the shared session's post,
within Slack's limits at any size a desktop or a user can reach."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.policy import Policy
from bot.render.model import Bubble, FreeText, Note, Session
from bot.share_keys import new_share_key
from bot.views import messages
from storage.models import ShareKeyPublic
from tests.support.slack_limits import message_problems

MOMENT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def session(notes: int = 2, text: str = "Pay does nothing", items: int = 1) -> Session:
    return Session(
        session_id="session-2026-12-01-09-30-00.250",
        created_at=MOMENT,
        screenshot="screenshot.png",
        notes=tuple(Note(i, f"{text} {i}", "right", f"focus-{i}.png") for i in range(notes)),
        bubbles=tuple(Bubble(f"bubble {i} " + "b" * 200) for i in range(items)),
        texts=tuple(FreeText(f"text {i} <&>") for i in range(items)),
        ocr_text=None,
        alternative_description=None,
        images={},
    )


def problems(message: messages.Message) -> list[str]:
    return message_problems({"text": message.text, "blocks": message.blocks})


def sections(message: messages.Message) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]  # type: ignore[index]


def test_the_post_reads_like_the_session_and_says_who_shared_it() -> None:
    post = messages.shared_session_post(session(), sharer="U0JANE")
    assert sections(post)[:3] == [
        "*Pay does nothing 0*",
        "*Note 1* · focus-0.png below\nPay does nothing 0",
        "*Note 2* · focus-1.png below\nPay does nothing 1",
    ]
    assert post.text == "Xenocept session shared by <@U0JANE>: Pay does nothing 0"
    assert "*Texts*\n• text 0 &lt;&amp;&gt;" in sections(post)
    assert problems(post) == []


def test_the_post_stays_within_slacks_limits_at_any_size() -> None:
    huge = messages.shared_session_post(
        session(notes=300, text="😀" * 5000, items=400), sharer="U0JANE"
    )
    assert problems(huge) == []
    assert "…and 260 more Notes, in the email." in json.dumps(huge.blocks, ensure_ascii=False)
    empty = messages.shared_session_post(session(notes=0, items=0), sharer="U0JANE")
    assert sections(empty) == ["*A Xenocept session*"] and problems(empty) == []


def key(n: int, label: str = "MacBook") -> ShareKeyPublic:
    return ShareKeyPublic(id=f"{n:032x}", label=label, created_at=MOMENT, last_used_at=None)


def test_the_new_key_is_shown_with_the_command_that_uses_it() -> None:
    made = new_share_key()
    shown = messages.share_key_made(key(1), made.text, server_url=None)
    assert made.text in sections(shown)[0] and made.text not in shown.text
    assert "URL-OF-THIS-BOT" in sections(shown)[0] and problems(shown) == []


def test_the_keys_list_stays_within_limits_at_the_most_keys_and_longest_labels() -> None:
    listed = messages.share_keys_list([key(n, "L" * 60 + "<*>") for n in range(20)])
    assert problems(listed) == []
    assert len(listed.blocks) == 21
    assert sections(listed)[1].startswith("*" + "L" * 60 + "&lt;*&gt;* — made <!date^")


def test_help_names_sharing_only_where_the_policy_allows_it() -> None:
    allowed = json.dumps(messages.help_message(Policy()).blocks)
    refused = json.dumps(messages.help_message(Policy(allow_sharing=False)).blocks)
    assert "/xenocept connect [label]" in allowed and "/xenocept keys" in allowed
    assert "/xenocept connect" not in refused and "/xenocept keys" not in refused
    assert problems(messages.help_message(Policy())) == []
