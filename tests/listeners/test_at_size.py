"""Slack's limits at sizes a user can reach: many destinations, long names, many
recipients, a full history. The payload-limits check (conftest) also runs over every
payload these tests make the app send; here the user-visible result is asserted."""

from __future__ import annotations

import re
from typing import Any

from bot import ids
from bot.destination_service import new_delivery
from storage import deliveries, destinations
from storage.db import transaction
from storage.models import DeliveryKind, DeliveryStatus, Owner
from tests.support.harness import BOB, JANE, Harness, seed_destinations
from tests.support.send_flow import (
    add_destination,
    delivery_row,
    modal_inputs,
    newest_delivery,
    open_send_modal,
    outcome,
    rows,
    send_values,
)


def names(count: int) -> list[str]:
    """Long names (the form allows 40 characters), with an emoji that counts double."""
    return [f"Ünïcödé 🔥 destination number {n:03d} ok" for n in range(count)]


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def listed(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        re.findall(r"^\*(.+?)\* — ", b["text"]["text"])[0]
        for b in blocks
        if b["type"] == "section" and "\n" in b["text"]["text"]
    ]


# ---------------------------------------------------------------- 7. /xenocept list pages


async def test_list_of_sixty_destinations_pages_within_the_block_limit(harness: Harness) -> None:
    await seed_destinations(
        harness, names(60), to=",".join(f"recipient.number.{n:02d}@example.com" for n in range(50))
    )
    _, first = await harness.command("list")
    assert len(first["blocks"]) <= 50
    assert listed(first["blocks"]) == names(60)[:10]
    assert "1–10 of 60" in first["blocks"][0]["text"]["text"]
    assert set(buttons(first["blocks"])) >= {ids.ACTION_LIST_NEXT}
    assert ids.ACTION_LIST_PREVIOUS not in buttons(first["blocks"])

    async def turn(blocks: list[dict[str, Any]], action_id: str, key: str) -> dict[str, Any]:
        button = buttons(blocks)[action_id]
        status, _ = await harness.action(
            harness.requests.block_actions(
                user_id=JANE,
                action_id=action_id,
                value=button["value"],
                block_id=ids.BLOCK_LIST_PAGES,
                message={"ts": "1.1", "blocks": blocks},
                response_url=harness.slack.response_url(key),
            )
        )
        assert status == 200
        _, body = await harness.slack.wait_for_response_url(lambda b: True, key=key)
        assert body["replace_original"] is True  # the same message shows the next page
        return body

    second = await turn(first["blocks"], ids.ACTION_LIST_NEXT, "page2")
    assert listed(second["blocks"]) == names(60)[10:20]
    assert "Page 2 of 6" in str(second["blocks"])
    back = await turn(second["blocks"], ids.ACTION_LIST_PREVIOUS, "page1")
    assert listed(back["blocks"]) == names(60)[:10]


async def test_a_page_past_the_end_shows_the_last_page(harness: Harness) -> None:
    await seed_destinations(harness, names(12))
    status, _ = await harness.action(
        harness.requests.block_actions(
            user_id=JANE,
            action_id=ids.ACTION_LIST_NEXT,
            value="99",
            message={"ts": "1.1"},
            response_url=harness.slack.response_url("far"),
        )
    )
    assert status == 200
    _, body = await harness.slack.wait_for_response_url(lambda b: True, key="far")
    assert listed(body["blocks"]) == names(12)[10:]


async def test_app_home_with_many_destinations_points_to_the_list(harness: Harness) -> None:
    await seed_destinations(harness, names(45))
    await harness.send(
        harness.requests.event(
            {"type": "app_home_opened", "user": JANE, "channel": "D1", "tab": "home"}
        )
    )
    call = await harness.slack.wait_for("views.publish")
    view = call.params["view"]
    assert len(view["blocks"]) <= 100 and len(listed(view["blocks"])) == 20
    assert "Showing 20 of your 45 destinations" in str(view["blocks"])
    assert "/xenocept list" in str(view["blocks"])


async def test_an_unknown_name_among_many_names_a_few_and_points_to_the_list(
    harness: Harness,
) -> None:
    await seed_destinations(harness, names(80))
    _, body = await harness.command("test nothing-here")
    assert "no destination named *nothing-here*" in body["text"]
    assert "and 70 more (`/xenocept list`)" in body["text"]


# ---------------------------------------------------------------- 8. searchable send modal


async def test_many_destinations_get_a_searchable_menu_limited_to_the_user(
    harness: Harness,
) -> None:
    made = await seed_destinations(harness, names(150))
    await seed_destinations(harness, ["Bob's own"], user=BOB)
    message = {"type": "message", "user": JANE, "ts": "1700000000.000100", "text": "hi"}
    harness.slack.add_channel("C0GEN", name="general")
    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    menu = modal_inputs(view)[ids.BLOCK_SEND_DESTINATION]
    assert menu["type"] == "external_select" and "options" not in menu
    assert menu["initial_option"]["value"] == made[0]  # nothing used yet: the first by name

    async def search(query: str, user: str = JANE) -> list[dict[str, Any]]:
        status, body = await harness.action(
            harness.requests.block_suggestion(
                user_id=user,
                action_id=ids.ACTION_PICK_DESTINATION,
                block_id=ids.BLOCK_SEND_DESTINATION,
                value=query,
                view=view,
            )
        )
        assert status == 200
        options: list[dict[str, Any]] = body["options"]
        return options

    everything = await search("")
    assert len(everything) == 100 and everything[0]["value"] == made[0]
    found = await search("number 142")
    assert [o["value"] for o in found] == [made[142]]
    assert await search("bob's") == []  # only Jane's own destinations are searched
    assert [o["text"]["text"] for o in await search("", user=BOB)] == [
        "Bob's own (jane@icloud.com)"
    ]

    status, body = await harness.submit(view, send_values(view, destination=made[142]))
    assert (status, body) == (200, "")
    delivery_id = newest_delivery(harness)
    assert delivery_row(harness, delivery_id)["destination_id"] == made[142]
    await outcome(harness, delivery_id, starts=("✅",))

    # The next modal preselects the destination used last, as the small menu does.
    again = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    assert modal_inputs(again)[ids.BLOCK_SEND_DESTINATION]["initial_option"]["value"] == (made[142])


async def test_a_few_destinations_keep_the_plain_menu(harness: Harness) -> None:
    made = await seed_destinations(harness, names(10))
    message = {"type": "message", "user": JANE, "ts": "1700000000.000100", "text": "hi"}
    harness.slack.add_channel("C0GEN", name="general")
    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    menu = modal_inputs(view)[ids.BLOCK_SEND_DESTINATION]
    assert menu["type"] == "static_select"
    assert [o["value"] for o in menu["options"]] == made


# ---------------------------------------------------------------- 10. sizes in the modal


async def test_editing_fifty_long_recipients_fits_the_field(harness: Harness) -> None:
    typed = ",".join(f"{'r' * 45}{n:02d}@example.com" for n in range(50))
    assert len(typed) == 2999
    await add_destination(harness, to=typed)
    before = len(harness.slack.calls)
    await harness.command("edit iCloud")
    view = await harness.opened_view(ids.VIEW_DESTINATION_FORM, after=before)
    to = modal_inputs(view)[ids.BLOCK_TO]
    assert len(to["initial_value"]) <= to["max_length"] == 3000
    assert to["initial_value"].split(",") == typed.split(",")


async def test_history_shows_all_twenty_sends_with_long_errors(harness: Harness) -> None:
    [destination_id] = await seed_destinations(harness, ["iCloud"])
    owner = Owner(team_id=harness.requests.team_id, user_id=JANE)
    services = harness.app.services
    async with transaction(services.database) as db:
        destination = await destinations.get_destination(
            db=db, owner=owner, destination_id=destination_id
        )
        for n in range(25):
            delivery = new_delivery(
                destination,
                kind=DeliveryKind.SESSION,
                summary=f"Send number {n:02d} 🔥 " + "x" * 200,
            )
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "550 5.7.1 " + "refused because " * 40
            await deliveries.enqueue(db=db, owner=owner, delivery=delivery)
    assert rows(harness, "select count(*) from delivery") == [(25,)]
    _, body = await harness.command("history")
    shown = re.findall(r"Send number (\d\d)", str(body["blocks"]))
    assert len(shown) == 20 and len(set(shown)) == 20
    assert len(body["blocks"]) <= 50
