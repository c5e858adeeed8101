"""Every Block Kit builder, called with data and checked against Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from slack_sdk.models.views import View

from bot.advice import Advice
from bot.presets import ICLOUD, OTHER
from bot.render.model import Directory
from bot.views import messages
from bot.views.common import clip, utf16_len
from bot.views.destination_modal import (
    UNCHANGED_HINT,
    FormMetadata,
    destination_modal,
    recipients_text,
)
from bot.views.home import home_view
from bot.views.send_modal import (
    SendMetadata,
    destination_options,
    no_destination_modal,
    prefill_subject,
    send_modal,
)
from storage.models import Delivery, DeliveryKind, DeliveryStatus, DestinationPublic

MOMENT = datetime(2026, 11, 24, 14, 7, tzinfo=UTC)


def destination(n: int = 0, **changes: Any) -> DestinationPublic:
    values: dict[str, Any] = dict(
        id=f"d{n}",
        team_id="T1",
        user_id="U1",
        name=f"iCloud {n}",
        name_key=f"icloud {n}",
        smtp_host="smtp.mail.me.com",
        smtp_port=587,
        username="jane@icloud.com",
        from_address="jane@icloud.com",
        to_addresses="jane@icloud.com,x@example.com",
        last_test_at=MOMENT,
        last_test_ok=True,
    )
    values.update(changes)
    return DestinationPublic(**values)


def delivery(**changes: Any) -> Delivery:
    values: dict[str, Any] = dict(
        id="x1",
        team_id="T1",
        user_id="U1",
        destination_id="d0",
        destination_name="iCloud",
        kind=DeliveryKind.SESSION,
        summary="12 messages from #incidents",
        message_id="<m@x>",
        status=DeliveryStatus.SENT,
        attempts=1,
        created_at=MOMENT,
    )
    values.update(changes)
    return Delivery(**values)


def check_view(view: View) -> dict[str, Any]:
    data = view.to_dict()  # slack_sdk validates titles, lengths, block counts here
    assert len(json.dumps(data)) < 250_000
    inputs = [b for b in data["blocks"] if b["type"] == "input"]
    if inputs:
        assert "submit" in data  # Slack requires it with input blocks
    for block in inputs:
        assert block["element"].get("max_length", 3000) <= 3000
    return data


@pytest.mark.parametrize("preset", [ICLOUD, OTHER])
def test_new_destination_modal(preset: Any) -> None:
    data = check_view(destination_modal(preset=preset))
    assert FormMetadata.load(data["private_metadata"]) == FormMetadata(preset.key, None)


def test_edit_modal_never_carries_the_password() -> None:
    data = check_view(destination_modal(preset=ICLOUD, destination=destination()))
    text = json.dumps(data, ensure_ascii=False)
    assert UNCHANGED_HINT in text
    assert "secret" not in data["private_metadata"]
    assert FormMetadata.load(data["private_metadata"]).destination_id == "d0"


def test_home_view_stays_within_100_blocks_for_many_destinations() -> None:
    many = [destination(n) for n in range(60)]
    data = check_view(home_view(destinations=many, deliveries=[delivery()] * 5))
    assert data["type"] == "home" and len(data["blocks"]) <= 100


def test_home_view_without_destinations_invites_to_add_one() -> None:
    data = check_view(home_view(destinations=[], deliveries=[]))
    assert "You have no destinations yet" in json.dumps(data)


def test_send_modal_defaults_and_the_empty_case() -> None:
    data = check_view(
        send_modal(
            destinations=[destination(0), destination(1)],
            default_id="d1",
            scope="thread",
            subject="#x: hi",
            metadata=SendMetadata("draft1"),
        )
    )
    select = data["blocks"][0]["element"]
    assert select["initial_option"]["value"] == "d1"
    assert SendMetadata.load(data["private_metadata"]).draft_id == "draft1"
    assert "Add destination" in json.dumps(check_view(no_destination_modal()))


@pytest.mark.parametrize(
    ("where", "text", "subject"),
    [
        (
            "#incidents",
            "*Prod* is down since <https://x.example|the deploy> again and again and again",
            "#incidents: Prod is down since the deploy again and…",
        ),
        ("#x", "Hi\r\nBcc: evil@example.com", "#x: Hi Bcc: evil@example.com"),
        ("a direct message", "", "Direct message"),
        ("a group DM", "Lunch?", "Group DM: Lunch?"),
        (
            "#dev",
            "my_var_name is _still_ `None` :rotating_light: <@U1>",
            "#dev: my_var_name is still `None` 🚨 @Jane Doe",
        ),
        ("#dev", "&gt; *quoted* C:\\path &amp; more", "#dev: quoted C:\\path & more"),
    ],
)
def test_prefilled_subject(where: str, text: str, subject: str) -> None:
    assert prefill_subject(where, text, Directory(users={"U1": "Jane Doe"})) == subject


def test_status_messages_carry_what_the_user_needs() -> None:
    advice = Advice(
        "Logging in failed", "iCloud answered: 535 5.7.8 …", ("Use an app-specific password.",)
    )
    sent = messages.sent(delivery(), recipients=["jane@icloud.com"], seconds=1.26)
    assert sent.text == (
        "✅ Sent 12 messages from #incidents to jane@icloud.com via *iCloud* (1.3 s)."
    )
    failed = messages.failed(delivery(), advice, attempts=3, offer_message_only=True)
    assert "Logging in failed" in failed.text and "Send only this message" in str(failed.blocks)
    retry = messages.retrying(delivery(), advice, in_seconds=120, attempt=1)
    assert retry.text.startswith("🔁 Retrying in 2 min: iCloud answered: 535")


def test_user_text_is_escaped_in_messages() -> None:
    listing = messages.destination_list([destination(name="<!channel> & co")])
    assert "&lt;!channel&gt; &amp; co" in str(listing.blocks)


# ---------------------------------------------------------------- at size


def test_clip_counts_utf16_and_never_splits_an_emoji() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("🔥" * 10, 7) == "🔥🔥🔥…"  # 3 × 2 units + the ellipsis
    assert utf16_len(clip("a" + "🔥" * 100, 50)) <= 50
    assert clip("word " * 10, 12) == "word word w…"


def test_the_list_pages_ten_at_a_time_with_buttons_where_there_is_a_page() -> None:
    many = [destination(n) for n in range(25)]
    first, last = messages.destination_list(many), messages.destination_list(many, page=2)
    assert len(first.blocks) == 1 + 2 * 10 + 2 and len(last.blocks) == 1 + 2 * 5 + 2
    pages = [b for b in first.blocks if b.get("block_id") == "list_pages"]
    turns = {str(e["action_id"]) for b in pages for e in cast(list[dict[str, Any]], b["elements"])}
    assert turns == {"list_next"}
    assert "21–25 of 25" in str(last.blocks[0]) and "Page 3 of 3" in str(last.blocks)
    assert messages.destination_list(many, page=-4).blocks == first.blocks
    assert "list_pages" not in str(messages.destination_list(many[:10]).blocks)


def test_recipients_come_back_within_the_fields_max_length() -> None:
    short = ["a@example.com", "b@example.com"]
    assert recipients_text(short) == "a@example.com, b@example.com"
    long = [f"{'r' * 45}{n:02d}@example.com" for n in range(50)]
    assert recipients_text(long) == ",".join(long) and len(recipients_text(long)) == 2999


def test_an_unknown_name_lists_ten_names_at_most() -> None:
    reply = messages.no_such_destination("x", verb="test", names=[f"n{n}" for n in range(30)])
    assert reply.text.count("`n") == 10 and "and 20 more (`/xenocept list`)" in reply.text
    assert (
        "Usage: `/xenocept edit NAME`"
        in messages.no_such_destination("", verb="edit", names=[]).text
    )


def test_the_destination_search_filters_by_name_and_recipient_and_caps() -> None:
    many = [destination(n) for n in range(150)]
    assert len(destination_options(many, "")) == 100
    assert [o["value"] for o in destination_options(many, "ICLOUD 14")] == [
        "d14",
        "d114",
        *[f"d{n}" for n in range(140, 150)],
    ]
    assert destination_options(many, "x@example") and not destination_options(many, "nobody")


def test_history_is_one_block_per_send_and_shows_twenty() -> None:
    sends = [delivery(id=f"x{n}", last_error="refused " * 100) for n in range(25)]
    history = messages.history(sends)
    assert len(history.blocks) == 21


def test_security_none_is_warned_about_where_it_can_be_chosen() -> None:
    def security_hint(preset: Any) -> str:
        view = check_view(destination_modal(preset=preset, local_allowed=True))
        [block] = [b for b in view["blocks"] if b.get("block_id") == "dest_security"]
        return str(block.get("hint", {}).get("text", ""))

    assert "unencrypted" in security_hint(OTHER) and "password" in security_hint(OTHER)
    assert security_hint(ICLOUD) == ""  # iCloud refuses None anyway


def a_follow(n: int, **changes: Any) -> Any:
    from storage.models import Follow

    values: dict[str, Any] = dict(
        id=f"f{n}",
        team_id="T1",
        user_id="U1",
        channel_id=f"C{n:08d}",
        channel_name=f"channel-{n}",
        destination_id="d0",
        destination_name="N" * 200,
        mode="all",
    )
    values.update(changes)
    return Follow(**values)


def test_follows_list_and_home_stay_within_slacks_limits_at_any_count() -> None:
    from tests.support.slack_limits import message_problems, view_problems

    many = [a_follow(n, paused_reason="x" * 500 if n % 2 else None) for n in range(60)]
    listed = messages.follow_list(many)
    assert message_problems({"text": listed.text, "blocks": listed.blocks}) == []
    assert "…and 40 more" in json.dumps(listed.blocks, ensure_ascii=False)
    home = home_view(destinations=[destination(n) for n in range(30)], deliveries=[], follows=many)
    assert view_problems(home.to_dict()) == []
    assert "60 in all" in json.dumps(home.to_dict())
    assert "You follow no channel" in messages.follow_list([]).text


def test_only_a_reactions_status_offers_change() -> None:
    from bot import ids

    delivery = Delivery(
        team_id="T1",
        user_id="U1",
        destination_id="d0",
        destination_name="iCloud",
        kind=DeliveryKind.SESSION,
        summary="Message from #qa",
        message_id="<m@x>",
        source="reaction:C1:1.2",
    )
    actions = json.dumps(messages.sending(delivery).blocks)
    assert ids.ACTION_CHANGE_SEND in actions
    delivery.source = "follow:f1"
    assert ids.ACTION_CHANGE_SEND not in json.dumps(messages.sending(delivery).blocks)
