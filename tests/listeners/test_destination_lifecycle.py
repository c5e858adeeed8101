"""The whole destination lifecycle through signed HTTP requests, as a user lives it:
add → automatic test → edit → test → remove, with the email that arrived at the
iCloud-like server and the messages Slack received as the evidence."""

from __future__ import annotations

import sqlite3
from typing import Any

from bot import ids
from tests.support.harness import ASP, JANE, JANE_LOGIN, Harness, form_values


def rows(harness: Harness, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(harness.database_path) as connection:
        return connection.execute(sql).fetchall()


async def open_form(harness: Harness, text: str = "add", user: str = JANE) -> dict[str, Any]:
    before = len(harness.slack.calls)
    status, body = await harness.command(text, user=user)
    assert (status, body) == (200, "")
    return await harness.opened_view(ids.VIEW_DESTINATION_FORM, after=before)


async def add_icloud(harness: Harness, **values: Any) -> tuple[int, Any]:
    view = await open_form(harness)
    values.setdefault("port", harness.smtp.submission_port)
    return await harness.submit(view, form_values(**values))


def block_ids(view: dict[str, Any]) -> list[str]:
    return [block.get("block_id", "") for block in view["blocks"]]


async def test_the_setup_modal_has_the_guide_defaults(harness: Harness) -> None:
    view = await open_form(harness)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs[ids.BLOCK_NAME]["element"]["initial_value"] == "iCloud"
    assert inputs[ids.BLOCK_HOST]["element"]["initial_value"] == "smtp.mail.me.com"
    assert inputs[ids.BLOCK_PORT]["element"]["initial_value"] == "587"
    assert inputs[ids.BLOCK_SECURITY]["element"]["initial_option"]["value"] == "starttls"
    assert "full iCloud Mail address" in inputs[ids.BLOCK_USERNAME]["hint"]["text"]
    assert "stored encrypted and never shown again" in inputs[ids.BLOCK_PASSWORD]["hint"]["text"]
    assert "custom-domain" in inputs[ids.BLOCK_FROM]["hint"]["text"]


async def test_add_then_automatic_test_send_then_edit_test_and_remove(harness: Harness) -> None:
    status, body = await add_icloud(harness, to="jane@icloud.com, team@example.com")
    assert (status, body) == (200, "")  # modal closes
    [mail] = await harness.smtp.wait_for_messages(1)
    assert mail.login == JANE_LOGIN and mail.envelope_from == JANE_LOGIN
    assert sorted(mail.rcpt_tos) == ["jane@icloud.com", "team@example.com"]
    assert "Xenocept" in mail.message["Subject"]
    report = await harness.dm_update(lambda text: "works" in text)
    assert "iCloud" in str(report.params["text"])
    assert rows(harness, "select name, last_test_ok from destination") == [("iCloud", 1)]

    view = await open_form(harness, "edit icloud")
    password = next(b for b in view["blocks"] if b.get("block_id") == ids.BLOCK_PASSWORD)
    assert "initial_value" not in password["element"]
    assert "unchanged — leave empty to keep" in password["hint"]["text"]
    status, body = await harness.submit(
        view, form_values(port=harness.smtp.submission_port, password="", to="new@example.com")
    )
    assert (status, body) == (200, "")
    second = (await harness.smtp.wait_for_messages(2))[1]
    assert second.rcpt_tos == ["new@example.com"] and second.login == JANE_LOGIN

    status, body = await harness.command("test iCloud")
    assert status == 200 and "Sending a test session" in body["text"]
    third = (await harness.smtp.wait_for_messages(3))[2]
    assert third.rcpt_tos == ["new@example.com"]

    status, body = await harness.command("remove iCloud")
    confirm = next(
        e
        for b in body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.ACTION_CONFIRM_REMOVE
    )
    status, _ = await harness.action(
        harness.requests.block_actions(
            user_id=JANE,
            action_id=ids.ACTION_CONFIRM_REMOVE,
            value=confirm["value"],
            channel_id="C111",
            message={"ts": "1.2", "text": "Remove?"},
            response_url=harness.slack.response_url("remove"),
        )
    )
    assert status == 200
    _, posted = await harness.slack.wait_for_response_url(lambda b: "Removed" in b["text"])
    assert "App-Specific Passwords" in posted["text"] and "Revoke" in posted["text"]
    assert rows(harness, "select count(*) from destination") == [(0,)]


async def test_inline_errors_change_nothing(harness: Harness) -> None:
    status, body = await add_icloud(harness, username="jane", password="Correct-Horse-7")
    assert status == 200 and body["response_action"] == "errors"
    assert set(body["errors"]) == {ids.BLOCK_USERNAME, ids.BLOCK_PASSWORD}
    assert rows(harness, "select count(*) from destination") == [(0,)]
    assert rows(harness, "select count(*) from delivery") == [(0,)]
    assert harness.smtp.connections == 0


async def test_duplicate_names_are_refused_on_the_name_field(harness: Harness) -> None:
    await add_icloud(harness)
    _, body = await add_icloud(harness, name="ICLOUD")
    assert body["errors"] == {ids.BLOCK_NAME: "You already have a destination named ICLOUD."}


async def test_private_hosts_are_refused_before_anything_connects(harness: Harness) -> None:
    _, body = await add_icloud(harness, host="10.1.2.3")
    assert body["response_action"] == "errors"
    assert "10.1.2.3" in body["errors"][ids.BLOCK_HOST]
    assert "XENOCEPT_SMTP_ALLOW_HOSTS" in body["errors"][ids.BLOCK_HOST]


async def test_list_help_history_and_unknown_subcommands(harness: Harness) -> None:
    await add_icloud(harness)
    await harness.smtp.wait_for_messages(1)
    await harness.dm_update(lambda text: "works" in text)
    _, listing = await harness.command("list")
    assert "iCloud" in str(listing["blocks"]) and JANE_LOGIN in str(listing["blocks"])
    _, helped = await harness.command("help")
    assert "app-specific password" in str(helped["blocks"])
    _, unknown = await harness.command("frobnicate")
    assert "I don't know `frobnicate`" in unknown["text"]
    assert "/xenocept add" in str(unknown["blocks"])
    _, history = await harness.command("history")
    assert "Test session" in str(history["blocks"]) and "sent" in str(history["blocks"])
    _, missing = await harness.command("test nothing-here")
    assert "no destination named *nothing-here*" in missing["text"]


async def test_app_home_shows_only_my_destinations_with_test_state(harness: Harness) -> None:
    await add_icloud(harness)
    await harness.dm_update(lambda text: "works" in text)
    status, _ = await harness.send(
        harness.requests.event(
            {"type": "app_home_opened", "user": "U0BOB", "channel": "D2", "tab": "home"}
        )
    )
    assert status == 200
    bob_home = await harness.slack.wait_for(
        "views.publish", lambda c: c.params["user_id"] == "U0BOB"
    )
    assert JANE_LOGIN not in str(bob_home.params["view"])
    await harness.send(
        harness.requests.event(
            {"type": "app_home_opened", "user": JANE, "channel": "D1", "tab": "home"}
        )
    )
    jane_home = await harness.slack.wait_for(
        "views.publish",
        lambda c: c.params["user_id"] == JANE and "last test passed" in str(c.params["view"]),
    )
    assert ASP not in str(jane_home.params["view"])
