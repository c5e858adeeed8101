"""The "Send to email" flow driven the way Slack drives it, for end-to-end tests.

message shortcut → the send modal the stand-in recorded (views.open) → view_submission of
that modal → the outbox row → the email at the iCloud-like server and the status message.
"""

from __future__ import annotations

import sqlite3
from email.message import EmailMessage
from typing import Any

from bot import ids
from tests.support.harness import BOB, JANE, Harness, form_values
from tests.support.icloud_smtpd import ReceivedMessage
from tests.support.slack_standin import Call

BOB_LOGIN = "bob@icloud.com"
BOB_ASP = "qrst-uvwx-yzab-cdef"


def rows(harness: Harness, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(harness.database_path) as connection:
        return connection.execute(sql, args).fetchall()


def text_input(value: str | None) -> dict[str, Any]:
    return {ids.VALUE: {"type": "plain_text_input", "value": value}}


def select(value: str, label: str = "") -> dict[str, Any]:
    return {
        ids.VALUE: {
            "type": "static_select",
            "selected_option": {
                "text": {"type": "plain_text", "text": label or value, "emoji": True},
                "value": value,
            },
        }
    }


async def add_destination(
    harness: Harness, *, user: str = JANE, name: str = "iCloud", **values: Any
) -> str:
    """A destination of ``user`` through the setup modal; returns its id once its test ran."""
    if user == BOB:
        values = {"username": BOB_LOGIN, "password": BOB_ASP, "to": "bob@example.com", **values}
    before = len(harness.slack.calls)
    status, body = await harness.command("add", user=user)
    assert (status, body) == (200, "")
    view = await harness.opened_view(ids.VIEW_DESTINATION_FORM, after=before)
    before = len(harness.slack.calls)
    status, body = await harness.submit(
        view, form_values(name=name, port=harness.smtp.submission_port, **values), user=user
    )
    assert (status, body) == (200, ""), body
    # The automatic test send reports back in the user's DM, passed or failed.
    await harness.slack.wait_for(
        "chat.update",
        lambda c: (
            c.params["channel"] == "D" + user
            and any(c is later for later in harness.slack.calls[before:])
        ),
    )
    [(destination_id,)] = rows(
        harness, "select id from destination where user_id = ? and name = ?", user, name
    )
    return str(destination_id)


async def open_send_modal(
    harness: Harness,
    message: dict[str, Any],
    *,
    channel_id: str,
    channel_name: str,
    user: str = JANE,
) -> dict[str, Any]:
    """The message shortcut as Slack posts it; returns the modal the app opened."""
    before = len(harness.slack.calls)
    payload = harness.requests.message_shortcut(
        user_id=user,
        callback_id=ids.SHORTCUT_SEND_TO_EMAIL,
        channel_id=channel_id,
        channel_name=channel_name,
        message=message,
        response_url=harness.slack.response_url(f"shortcut-{user}"),
    )
    status, body = await harness.action(payload)
    assert (status, body) == (200, "")
    return await harness.opened_view(ids.VIEW_SEND_FORM, after=before)


def modal_inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def send_values(
    view: dict[str, Any],
    *,
    destination: str | None = None,
    scope: str | None = None,
    subject: str | None = None,
    note: str | None = None,
) -> dict[str, dict[str, Any]]:
    """``view.state.values`` of the send modal: what the user left, or what they changed."""
    inputs = modal_inputs(view)
    return {
        ids.BLOCK_SEND_DESTINATION: select(
            destination or inputs[ids.BLOCK_SEND_DESTINATION]["initial_option"]["value"]
        ),
        ids.BLOCK_SEND_SCOPE: select(
            scope or inputs[ids.BLOCK_SEND_SCOPE]["initial_option"]["value"]
        ),
        ids.BLOCK_SEND_SUBJECT: text_input(
            inputs[ids.BLOCK_SEND_SUBJECT]["initial_value"] if subject is None else subject
        ),
        ids.BLOCK_SEND_NOTE: text_input(note),
    }


async def send(
    harness: Harness,
    message: dict[str, Any],
    *,
    channel_id: str,
    channel_name: str,
    user: str = JANE,
    **choices: Any,
) -> str:
    """Shortcut, modal, submit; returns the id of the queued delivery."""
    view = await open_send_modal(
        harness, message, channel_id=channel_id, channel_name=channel_name, user=user
    )
    status, body = await harness.submit(view, send_values(view, **choices), user=user)
    assert (status, body) == (200, ""), body
    return newest_delivery(harness, user)


def newest_delivery(harness: Harness, user: str = JANE) -> str:
    [(delivery_id,)] = rows(
        harness,
        "select id from delivery where user_id = ? and kind = "
        "'SESSION' order by created_at desc limit 1",
        user,
    )
    return str(delivery_id)


def delivery_row(harness: Harness, delivery_id: str) -> dict[str, Any]:
    with sqlite3.connect(harness.database_path) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("select * from delivery where id = ?", (delivery_id,)).fetchone()
    assert row is not None, delivery_id
    return dict(row)


async def outcome(
    harness: Harness, delivery_id: str, *, starts: tuple[str, ...] = ("✅", "❌")
) -> Call:
    """The chat.update that put the delivery's status message in its final state."""
    await harness.slack.wait_for(
        "chat.update",
        lambda c: (
            str(c.params.get("text", "")).startswith(starts)
            and _is_status_of(harness, delivery_id, c)
        ),
    )
    return [
        c
        for c in status_updates(harness, delivery_id)
        if str(c.params.get("text", "")).startswith(starts)
    ][-1]


def _is_status_of(harness: Harness, delivery_id: str, call: Call) -> bool:
    row = delivery_row(harness, delivery_id)
    return (call.params.get("ts"), call.params.get("channel")) == (
        row["status_ts"],
        row["status_channel"],
    )


def status_updates(harness: Harness, delivery_id: str) -> list[Call]:
    return [
        c for c in harness.slack.calls_to("chat.update") if _is_status_of(harness, delivery_id, c)
    ]


def status_texts(harness: Harness, delivery_id: str) -> list[str]:
    """The texts the delivery's status message was updated to, in order."""
    return [str(c.params["text"]) for c in status_updates(harness, delivery_id)]


def sending_posts(harness: Harness, user: str = JANE) -> list[str]:
    """The "Sending…" messages posted to ``user``'s DM."""
    return [
        str(c.params["text"])
        for c in harness.slack.calls_to("chat.postMessage")
        if c.params.get("channel") == user
        and str(c.params.get("text", "")).startswith("⏳ Sending")
    ]


def by_message_id(received: list[ReceivedMessage], message_id: str) -> list[ReceivedMessage]:
    return [m for m in received if m.message["Message-ID"] == message_id]


def bodies(message: EmailMessage) -> tuple[str, str]:
    """(text/plain, text/html) of a received email, with the wire's CRLF read as \\n."""
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return (
        str(plain.get_content()).replace("\r\n", "\n"),
        str(html.get_content()).replace("\r\n", "\n"),
    )


async def set_policy(harness: Harness, **values: Any) -> None:
    """The workspace policy as an admin's saved form leaves it (columns by name)."""
    from storage import policies
    from storage.db import transaction

    async with transaction(harness.app.services.database) as db:
        await policies.save_policy(
            db=db, enterprise_id="", team_id=harness.requests.team_id, by="U0ADMIN", values=values
        )
