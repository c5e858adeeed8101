"""Workspace policy through the real app: who may change it, every path obeying it, the
audit trail and its export. Admins are who Slack says (users.info flags) or the operator
lists in XENOCEPT_ADMINS."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from bot import ids
from bot.delivery.outbox import Outbox
from bot.policy import ConversationKind
from tests.listeners.test_destination_lifecycle import add_icloud
from tests.support.harness import ASP, BOB, JANE, Harness
from tests.support.send_flow import (
    add_destination,
    delivery_row,
    open_send_modal,
    outcome,
    rows,
    send,
    send_values,
)

MESSAGE = {"type": "message", "user": BOB, "ts": "1700000000.000100", "text": "TOKEN-42 notes"}
ALL_KINDS = tuple(kind.value for kind in ConversationKind)


def make_admin(harness: Harness, user: str = JANE) -> None:
    harness.slack.users[user]["is_admin"] = True


def policy_values(
    *,
    domains: str = "",
    providers: Sequence[str] = (),
    kinds: Sequence[str] = ALL_KINDS,
    blocked: Sequence[str] = (),
    largest: str = "",
    keep: str = "365",
    sharing: bool = True,
) -> dict[str, dict[str, Any]]:
    def chosen(values: Sequence[str]) -> dict[str, Any]:
        options = [{"value": v, "text": {"type": "plain_text", "text": v}} for v in values]
        return {ids.VALUE: {"type": "checkboxes", "selected_options": options}}

    def text(value: str) -> dict[str, Any]:
        return {ids.VALUE: {"type": "plain_text_input", "value": value or None}}

    return {
        ids.BLOCK_POLICY_DOMAINS: text(domains),
        ids.BLOCK_POLICY_PROVIDERS: chosen(providers),
        ids.BLOCK_POLICY_FROM: chosen(kinds),
        ids.BLOCK_POLICY_BLOCKED: {
            ids.VALUE: {"type": "multi_conversations_select", "selected_conversations": blocked}
        },
        ids.BLOCK_POLICY_MAX_THREAD: text(largest),
        ids.BLOCK_POLICY_KEEP_DAYS: text(keep),
        ids.BLOCK_POLICY_SHARING: chosen([ids.SHARING_ALLOWED] if sharing else []),
    }


async def open_policy(harness: Harness, user: str = JANE) -> dict[str, Any]:
    before = len(harness.slack.calls)
    assert await harness.command("admin", user=user) == (200, "")
    return await harness.opened_view(ids.VIEW_POLICY_FORM, after=before)


async def set_policy(harness: Harness, **values: Any) -> None:
    """Saved through the modal, once the admin's Home shows the result."""
    make_admin(harness)
    view = await open_policy(harness)
    before = len(harness.slack.calls)
    assert await harness.submit(view, policy_values(**values)) == (200, "")
    await harness.slack.wait_for(
        "views.publish", lambda c: any(c is later for later in harness.slack.calls[before:])
    )


async def told_not_admin(harness: Harness, user: str = JANE) -> None:
    """The one sentence, through the command's response_url."""
    await harness.slack.wait_for_response_url(
        lambda body: "owners and admins" in str(body.get("text")), key=f"cmd-{user}"
    )


async def test_only_admins_open_and_save_the_policy(harness: Harness) -> None:
    assert await harness.command("admin") == (200, "")
    await told_not_admin(harness)
    assert not harness.slack.calls_to("views.open")

    make_admin(harness)
    view = await open_policy(harness)
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert view["title"]["text"] == "Workspace policy"
    assert labels == [
        "Allowed recipient domains",
        "Allowed providers",
        "Forward from",
        "Blocked channels",
        "Largest thread",
        "Keep history for",
        "Sharing from Xenocept",
    ]
    # The same form submitted by someone who is not an admin (a forged submission).
    status, body = await harness.submit(view, policy_values(domains="example.com"), user=BOB)
    assert status == 200 and body["response_action"] == "errors"
    assert "owners and admins" in body["errors"][ids.BLOCK_POLICY_DOMAINS]
    assert rows(harness, "select count(*) from workspacepolicy") == [(0,)]


async def test_the_operator_names_admins_too(harness: Harness) -> None:
    harness.app.services.settings.admins_list = BOB
    assert await harness.command("admin", user=BOB) == (200, "")
    view = await harness.opened_view(ids.VIEW_POLICY_FORM)
    assert view["title"]["text"] == "Workspace policy"


async def test_bad_input_is_refused_on_its_field_and_nothing_saved(harness: Harness) -> None:
    make_admin(harness)
    view = await open_policy(harness)
    status, body = await harness.submit(
        view, policy_values(domains="example.com, not a domain!", keep="-1", largest="0")
    )
    assert status == 200 and body["response_action"] == "errors"
    assert set(body["errors"]) == {
        ids.BLOCK_POLICY_DOMAINS,
        ids.BLOCK_POLICY_KEEP_DAYS,
        ids.BLOCK_POLICY_MAX_THREAD,
    }
    assert "is not a domain" in body["errors"][ids.BLOCK_POLICY_DOMAINS]
    assert rows(harness, "select count(*) from workspacepolicy") == [(0,)]


async def test_recipient_domains_rule_the_setup_form(harness: Harness) -> None:
    await set_policy(harness, domains="example.com\n*.corp.example")
    _, body = await add_icloud(harness, to="jane@icloud.com")
    assert body["response_action"] == "errors"
    assert body["errors"] == {
        ids.BLOCK_TO: "Your workspace allows email only to example.com or *.corp.example "
        "addresses (jane@icloud.com is not); ask a workspace admin (they change it with "
        "/xenocept admin)."
    }
    assert rows(harness, "select count(*) from destination") == [(0,)]
    # The rule is named under To before anyone meets it.
    view = await harness.opened_view(ids.VIEW_DESTINATION_FORM)
    hint = next(b for b in view["blocks"] if b.get("block_id") == ids.BLOCK_TO)["hint"]["text"]
    assert "example.com, *.corp.example" in hint
    # Allowed: the domain itself, and subdomains only where the rule says *.
    assert await add_icloud(harness, to="a@example.com, b@qa.corp.example") == (200, "")
    _, refused = await add_icloud(harness, name="Two", to="c@sub.example.com")
    assert ids.BLOCK_TO in refused["errors"]


async def test_provider_rule_refuses_on_the_provider_field(harness: Harness) -> None:
    await set_policy(harness, providers=["gmail", "fastmail"])
    _, body = await add_icloud(harness)
    assert body["errors"] == {
        ids.BLOCK_PROVIDER: "Your workspace allows only Gmail / Google Workspace or Fastmail "
        "destinations; ask a workspace admin (they change it with /xenocept admin)."
    }


async def test_a_tightened_policy_marks_refuses_tests_and_sends(harness: Harness) -> None:
    destination_id = await add_destination(harness)
    await set_policy(harness, domains="example.com")
    await harness.slack.wait_for(
        "views.publish", lambda c: "⛔ Not allowed by workspace policy" in str(c.params)
    )
    _, listed = await harness.command("list")
    assert "⛔ Not allowed by workspace policy" in str(listed["blocks"])
    # A test send is refused with the rule, and nothing is queued.
    queued = rows(harness, "select count(*) from delivery")
    _, body = await harness.command("test iCloud")
    assert body["text"].startswith("🚫 Your workspace allows email only to example.com")
    assert rows(harness, "select count(*) from delivery") == queued
    # A send is refused under the destination field.
    harness.slack.add_channel("C0REL", name="releases")
    view = await open_send_modal(harness, MESSAGE, channel_id="C0REL", channel_name="releases")
    _, body = await harness.submit(view, send_values(view, destination=destination_id))
    assert "allows email only to example.com" in body["errors"][ids.BLOCK_SEND_DESTINATION]
    assert rows(harness, "select count(*) from delivery") == queued


async def test_conversation_rules_use_the_payload_and_conversations_info(
    harness: Harness,
) -> None:
    await add_destination(harness)
    await set_policy(harness, kinds=["public", "mpim"], blocked=["C0BLOCK"])
    harness.slack.add_channel("C0SECRET", name="secret-plans", is_private=True)  # a C id
    harness.slack.add_channel("C0BLOCK", name="blocked")
    harness.slack.add_channel("C0OPEN", name="open")
    cases = {
        ("C0SECRET", "secret-plans"): "forwarding from private channels",
        ("D0DM", "directmessage"): "forwarding from direct messages",
        ("C0BLOCK", "blocked"): "forwarding from this channel",
    }
    for (channel_id, name), words in cases.items():
        view = await open_send_modal(harness, MESSAGE, channel_id=channel_id, channel_name=name)
        _, body = await harness.submit(view, send_values(view))
        assert words in body["errors"][ids.BLOCK_SEND_DESTINATION], channel_id
    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(0,)]
    delivery_id = await send(harness, MESSAGE, channel_id="C0OPEN", channel_name="open")
    assert (await outcome(harness, delivery_id)).params["text"].startswith("✅")


async def test_a_thread_larger_than_allowed_is_refused(harness: Harness) -> None:
    await add_destination(harness)
    await set_policy(harness, largest="2")
    harness.slack.add_channel("C0REL", name="releases")
    parent = {**MESSAGE, "reply_count": 2, "thread_ts": MESSAGE["ts"]}
    view = await open_send_modal(harness, parent, channel_id="C0REL", channel_name="releases")
    _, body = await harness.submit(view, send_values(view, scope="thread"))
    assert "at most 2 messages in one send and this thread has 3" in str(body["errors"])


async def test_a_policy_tightened_after_queueing_stops_the_send(harness: Harness) -> None:
    await add_destination(harness)
    mails = len(harness.smtp.received)
    await harness.app.outbox.stop()  # the send waits in the outbox
    harness.slack.add_channel("C0REL", name="releases")
    delivery_id = await send(harness, MESSAGE, channel_id="C0REL", channel_name="releases")
    await set_policy(harness, domains="example.com")
    worker = Outbox(harness.app.services, sessions_composer=None)
    await worker.start(release_in_flight=False)
    try:
        done = await outcome(harness, delivery_id, starts=("❌",))
    finally:
        await worker.stop()
    assert "Not allowed by workspace policy" in str(done.params)
    assert delivery_row(harness, delivery_id)["status"] == "FAILED"
    assert len(harness.smtp.received) == mails
    assert "allows email only to example.com" in str(done.params)


async def test_the_audit_export_holds_the_actions_and_no_secrets(harness: Harness) -> None:
    make_admin(harness)
    await add_destination(harness)
    harness.slack.add_channel("C0REL", name="releases")
    delivery_id = await send(harness, MESSAGE, channel_id="C0REL", channel_name="releases")
    await outcome(harness, delivery_id)
    await set_policy(harness, domains="icloud.com")
    assert await harness.command("audit 7") == (200, "")
    await harness.slack.wait_for("files.completeUploadExternal")
    [shared] = harness.slack.shared_files
    assert shared["channel_id"] == "D" + JANE
    table = list(csv.DictReader(io.StringIO(shared["content"].decode())))
    assert [row["action"] for row in table] == [
        "destination created",
        "destination tested",
        "message forwarded",
        "policy changed",
    ]
    assert {row["user"] for row in table} == {JANE}
    forwarded = table[2]["details"]
    assert "conversation=C0REL" in forwarded and "messages=1" in forwarded
    assert "outcome=sent" in forwarded and "recipients=jane@icloud.com" in forwarded
    raw = shared["content"].decode()
    assert "TOKEN-42" not in raw and ASP not in raw and ASP.replace("-", "") not in raw


async def test_non_admins_get_no_export(harness: Harness) -> None:
    assert await harness.command("audit") == (200, "")
    await told_not_admin(harness)
    assert harness.slack.shared_files == []
    for bad in ("-3", "²", "0"):
        _, usage = await harness.command(f"audit {bad}")
        assert usage["text"].startswith("Usage: `/xenocept audit [days]`"), bad


async def test_admins_see_the_policy_and_the_trail_on_home(harness: Harness) -> None:
    await set_policy(harness, domains="example.com", keep="30")
    home = str(harness.slack.home_views[JANE]["blocks"])
    assert "Workspace policy" in home and "Recipients: only example.com" in home
    assert "History kept: 30 days" in home and ids.ACTION_EDIT_POLICY in home
    assert "policy changed" in home
    # Members learn the rule from the help.
    _, helped = await harness.command("help")
    assert "allows email only to example.com" in str(helped["blocks"])
