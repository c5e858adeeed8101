"""Share keys (``/xenocept connect``, ``/xenocept keys``, Revoke) and a shared post's
Email me and message shortcut, through the real app."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot import ids
from bot.render.sample import sample_images
from tests.support.harness import BOB, JANE, Harness
from tests.support.send_flow import (
    add_destination,
    bodies,
    newest_delivery,
    open_send_modal,
    outcome,
    rows,
    send_values,
)
from tests.support.share_flow import (
    QA,
    connect,
    qa_channel,
    session_files,
    shared_messages,
    upload,
)


async def test_connect_shows_the_key_once_and_keeps_only_a_salted_hash(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness.app.services.settings.public_url = "https://xenocept.example.com"
    status, body = await harness.command("connect MacBook")
    assert status == 200 and body.get("response_type", "ephemeral") == "ephemeral"
    shown = json.dumps(body)
    key = next(word for word in shown.replace("`", " ").split() if word.startswith("xsk_"))
    assert "*MacBook*" in shown and "shown only this once" in shown
    assert (
        f"xenocept share --watch FOLDER --server https://xenocept.example.com --key {key}" in shown
    )
    [(label, salt, secret_hash)] = rows(harness, "select label, salt, secret_hash from sharekey")
    assert label == "MacBook" and len(salt) == 16 and len(secret_hash) == 32
    stored = b"".join(p.read_bytes() for p in harness.database_path.parent.glob("xenocept.db*"))
    assert key.encode() not in stored and key.split("_", 2)[2].encode() not in stored
    assert key not in caplog.text
    # Each connect makes another key; none is shown again.
    again = await connect(harness, label="Work PC")
    assert again != key and rows(harness, "select count(*) from sharekey") == [(2,)]


def revoke_buttons(body: dict[str, Any]) -> dict[str, str]:
    """Label → key id, from the Revoke buttons of ``/xenocept keys``."""
    found = {}
    for block in body["blocks"]:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == ids.ACTION_REVOKE_SHARE_KEY:
            found[block["text"]["text"].split("*")[1]] = accessory["value"]
    return found


async def click_revoke(harness: Harness, key_id: str, *, user: str = JANE) -> None:
    payload = harness.requests.block_actions(
        user_id=user,
        action_id=ids.ACTION_REVOKE_SHARE_KEY,
        value=key_id,
        channel_id=f"D{user}",
        response_url=harness.slack.response_url(f"keys-{user}"),
    )
    status, _ = await harness.action(payload)
    assert status == 200
    await harness.app.listeners.finish(grace=5)


async def test_keys_lists_them_and_revoking_one_stops_it_at_once(harness: Harness) -> None:
    mac = await connect(harness, label="MacBook")
    work = await connect(harness, label="Work PC")
    qa_channel(harness)
    status, body = await harness.command("keys")
    assert status == 200
    assert body["blocks"][0]["text"]["text"] == "*Your share keys (2)*"
    assert "last used never" in body["blocks"][1]["text"]["text"]
    buttons = revoke_buttons(body)
    assert set(buttons) == {"MacBook", "Work PC"}

    await click_revoke(harness, buttons["MacBook"])

    posts = [b for k, b in harness.slack.response_url_posts if k == f"keys-{JANE}"]
    assert posts[0]["replace_original"] is True
    assert set(revoke_buttons(posts[0])) == {"Work PC"}
    assert posts[1]["text"] == "*MacBook* is revoked: nothing shares with it any more."
    assert (await upload(harness, mac, session_files()))[0] == 401
    assert (await upload(harness, work, session_files()))[0] == 202


async def test_another_users_key_id_revokes_nothing(harness: Harness) -> None:
    key = await connect(harness, user=JANE)
    qa_channel(harness)
    [(key_id,)] = rows(harness, "select id from sharekey")

    await click_revoke(harness, str(key_id), user=BOB)

    [(_, told)] = [p for p in harness.slack.response_url_posts if p[0] == f"keys-{BOB}"]
    assert "not yours" in told["text"]
    assert rows(harness, "select user_id from sharekey") == [(JANE,)]
    assert (await upload(harness, key, session_files()))[0] == 202


async def test_no_keys_says_how_to_make_one(harness: Harness) -> None:
    status, body = await harness.command("keys")
    assert status == 200 and "`/xenocept connect [label]` makes one" in body["text"]


async def shared_post(harness: Harness) -> dict[str, Any]:
    key = await connect(harness)
    qa_channel(harness)
    status, _ = await upload(harness, key, session_files(notes=2))
    assert status == 202
    [message] = shared_messages(harness)
    return message


async def click_email_me(harness: Harness, message: dict[str, Any], *, user: str) -> None:
    payload = harness.requests.block_actions(
        user_id=user,
        action_id=ids.ACTION_EMAIL_SHARED,
        value="session",
        channel_id=QA,
        message=message,
        response_url=harness.slack.response_url(f"email-me-{user}"),
    )
    status, body = await harness.action(payload)
    assert (status, body) == (200, "")
    await harness.app.listeners.finish(grace=5)


async def test_email_me_sends_the_session_to_the_clickers_default_destination(
    harness: Harness,
) -> None:
    message = await shared_post(harness)
    await add_destination(harness, user=BOB)
    await harness.smtp.wait_for_messages(1)  # Bob's test send

    await click_email_me(harness, message, user=BOB)

    [_, arrived] = await harness.smtp.wait_for_messages(2)
    assert arrived.rcpt_tos == ["bob@example.com"]
    plain, html = bodies(arrived.message)
    assert "Step 1: the Pay button does nothing on Safari" in plain
    assert "Step 2: the Pay button does nothing on Safari" in html
    images = [p.get_content() for p in arrived.message.walk() if p.get("Content-ID")]
    screenshot, focus = sample_images()
    assert images.count(focus) == 2 and screenshot in images
    [(delivery_id, source)] = rows(
        harness, "select id, source from delivery where user_id = ? and kind = 'SESSION'", BOB
    )
    assert source == f"share:{QA}:{message['ts']}"
    done = await outcome(harness, str(delivery_id), starts=("✅",))
    assert "Sent" in str(done.params["text"])
    # A second click the same day says it was sent, and sends nothing.
    await click_email_me(harness, message, user=BOB)
    assert len(harness.smtp.received) == 2


async def test_email_me_without_a_destination_says_how_to_add_one(harness: Harness) -> None:
    message = await shared_post(harness)

    await click_email_me(harness, message, user=BOB)

    told = [
        str(c.params.get("text"))
        for c in harness.slack.calls_to("chat.postMessage")
        if c.params.get("channel") == BOB
    ]
    assert any("add one with `/xenocept add`" in text for text in told), told
    assert rows(harness, "select count(*) from delivery where user_id = ?", BOB) == [(0,)]


async def test_the_message_shortcut_reads_the_shared_post_as_a_session(
    harness: Harness,
) -> None:
    message = await shared_post(harness)
    await add_destination(harness, user=BOB)

    view = await open_send_modal(harness, message, channel_id=QA, channel_name="qa", user=BOB)

    status, body = await harness.submit(view, send_values(view), user=BOB)
    assert (status, body) == (200, "")
    await outcome(harness, newest_delivery(harness, BOB), starts=("✅",))
    [_, arrived] = await harness.smtp.wait_for_messages(2)
    # The suggested subject kept: the email is named after the session's first Note.
    assert arrived.message["Subject"] == "Xenocept: Step 1: the Pay button does nothing on Safari"
    assert "Step 2: the Pay button does nothing on Safari" in bodies(arrived.message)[0]


async def test_a_deactivated_user_loses_their_keys(harness: Harness) -> None:
    await connect(harness, user=BOB)
    await connect(harness, user=JANE)
    event = {"type": "user_change", "user": {"id": BOB, "deleted": True}}
    status, _ = await harness.send(harness.requests.event(event))
    assert status == 200
    await harness.app.listeners.finish(grace=5)
    assert rows(harness, "select user_id from sharekey") == [(JANE,)]
