"""Forward with one reaction: signed ``reaction_added`` events through the real app."""

from __future__ import annotations

from typing import Any

from bot import ids
from tests.support.harness import BOB, JANE, Harness
from tests.support.send_flow import add_destination, bodies, rows, send_values, set_policy

QA = "C0QA"
T0 = 1_700_000_000


def ts(i: int) -> str:
    return f"{T0 + 60 * i}.{100 + i:06d}"


def thread(harness: Harness, replies: int = 2) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"type": "message", "user": BOB, "ts": ts(0), "text": "Checkout fails on Safari"}
    ]
    messages += [
        {"type": "message", "user": JANE, "ts": ts(i), "thread_ts": ts(0), "text": f"reply {i}"}
        for i in range(1, replies + 1)
    ]
    if replies:
        messages[0].update(thread_ts=ts(0), reply_count=replies)
    harness.slack.add_channel(QA, name="qa-reports")
    harness.slack.add_thread(QA, messages)
    return messages


async def react(
    harness: Harness,
    *,
    user: str = JANE,
    reaction: str = "email",
    message_ts: str | None = None,
    event_id: str = "Ev1",
    retry_num: int | None = None,
) -> None:
    event = harness.requests.reaction_added(
        user_id=user, reaction=reaction, channel_id=QA, ts=message_ts or ts(0)
    )
    status, _ = await harness.send(
        harness.requests.event(event, event_id=event_id, retry_num=retry_num)
    )
    assert status == 200
    await harness.app.listeners.finish(grace=5)  # what the listener says after the ack


def dms(harness: Harness, user: str) -> list[str]:
    return [
        str(c.params.get("text", ""))
        for c in harness.slack.calls_to("chat.postMessage")
        if c.params.get("channel") == user
    ]


def forwards(harness: Harness, user: str = JANE) -> list[tuple[Any, ...]]:
    return rows(
        harness, "select id, source from delivery where user_id = ? and kind = 'SESSION'", user
    )


async def test_the_owners_reaction_sends_the_whole_thread_with_a_change_button(
    harness: Harness,
) -> None:
    thread(harness)
    await add_destination(harness)
    await react(harness)

    [(_, source)] = forwards(harness)
    assert source == f"reaction:{QA}:{ts(0)}"
    await harness.smtp.wait_for_messages(2)  # the test send, then this
    plain, _ = bodies(harness.smtp.received[1].message)
    assert "Checkout fails on Safari" in plain and "reply 1" in plain and "reply 2" in plain
    done = await harness.dm_update(lambda text: text.startswith("✅ Sent"))
    assert "3 messages from #qa-reports" in str(done.params["text"])
    buttons = [e for b in done.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [ids.ACTION_CHANGE_SEND]


async def test_a_reply_without_replies_of_its_own_is_sent_alone(harness: Harness) -> None:
    thread(harness)
    await add_destination(harness)
    await react(harness, message_ts=ts(2))
    await harness.smtp.wait_for_messages(2)
    plain, _ = bodies(harness.smtp.received[1].message)
    assert "reply 2" in plain and "Checkout fails" not in plain


async def test_someone_elses_reaction_sends_nothing_for_the_owner(harness: Harness) -> None:
    thread(harness)
    await add_destination(harness)
    await react(harness, user=BOB, event_id="Ev1")
    await react(harness, user=BOB, event_id="Ev2", message_ts=ts(1))

    assert forwards(harness) == [] and forwards(harness, BOB) == []
    [told] = dms(harness, BOB)  # Bob has no destination: told once, how to add one
    assert "no email destination yet" in told and "/xenocept add" in told
    assert not [t for t in dms(harness, JANE) if "Sending" in t or "Sent" in t]


async def test_a_second_reaction_within_a_day_sends_once_and_says_so(harness: Harness) -> None:
    thread(harness, replies=0)
    await add_destination(harness)
    await react(harness, event_id="Ev1")
    await react(harness, event_id="Ev1", retry_num=1)  # Slack's retry: silent
    await react(harness, event_id="Ev2")  # removed and added again

    assert len(forwards(harness)) == 1
    again = [t for t in dms(harness, JANE) if "already sent this message" in t]
    assert len(again) == 1
    await harness.smtp.wait_for_messages(2)
    await harness.dm_update(lambda text: text.startswith("✅ Sent"))
    assert len(harness.smtp.received) == 2


async def test_the_emoji_can_be_changed_and_turned_off(harness: Harness) -> None:
    thread(harness, replies=0)
    await add_destination(harness)
    status, body = await harness.command("reaction :tada:")
    assert status == 200 and ":tada:" in body["text"]
    await react(harness, reaction="email", event_id="Ev1")
    assert forwards(harness) == []
    await react(harness, reaction="tada::skin-tone-2", event_id="Ev2")
    assert len(forwards(harness)) == 1

    status, body = await harness.command("reaction off")
    assert "no longer forward" in body["text"]
    await react(harness, reaction="tada", message_ts=ts(0), event_id="Ev3")
    assert len(forwards(harness)) == 1
    status, body = await harness.command("reaction")
    assert "Now: off." in body["text"]


async def test_the_default_destination_is_the_one_marked(harness: Harness) -> None:
    thread(harness, replies=0)
    await add_destination(harness, name="Home")
    work = await add_destination(harness, name="Work")
    _, body = await harness.command("default work")
    assert "*Work* is now your default destination" in body["text"]
    await react(harness)
    [(delivery_id, _)] = forwards(harness)
    [(destination_id,)] = rows(
        harness, "select destination_id from delivery where id = ?", delivery_id
    )
    assert destination_id == work


async def test_change_reopens_the_send_modal_prefilled(harness: Harness) -> None:
    thread(harness)
    destination = await add_destination(harness)
    await react(harness)
    done = await harness.dm_update(lambda text: text.startswith("✅ Sent"))
    [(delivery_id, _)] = forwards(harness)

    before = len(harness.slack.calls)
    click = harness.requests.block_actions(
        user_id=JANE,
        action_id=ids.ACTION_CHANGE_SEND,
        value=delivery_id,
        channel_id=str(done.params["channel"]),
        message={"ts": done.params["ts"]},
    )
    assert (await harness.action(click))[0] == 200
    view = await harness.opened_view(ids.VIEW_SEND_FORM, after=before)
    values = send_values(view)
    assert values[ids.BLOCK_SEND_DESTINATION][ids.VALUE]["selected_option"]["value"] == destination
    assert values[ids.BLOCK_SEND_SCOPE][ids.VALUE]["selected_option"]["value"] == "thread"

    # Someone else's click on Jane's button opens nothing.
    before = len(harness.slack.calls)
    forged = {**click, "user": {**click["user"], "id": BOB}}
    assert (await harness.action(forged))[0] == 200
    await harness.app.listeners.finish(grace=5)
    assert not [c for c in harness.slack.calls[before:] if c.method == "views.open"]


async def test_a_blocked_channel_refuses_the_reaction_in_the_dm(harness: Harness) -> None:
    thread(harness, replies=0)
    await add_destination(harness)
    await set_policy(harness, blocked_channels=QA)
    await react(harness)
    assert forwards(harness) == []
    [refused] = [t for t in dms(harness, JANE) if t.startswith("Not sent")]
    assert "does not allow forwarding from this channel" in refused


async def test_reactions_in_one_channel_ask_slack_its_kind_once(harness: Harness) -> None:
    """The kind (for the policy) is asked before the ack: repeats within minutes cost no
    call, and a private channel stays private for the policy."""
    thread(harness, replies=0)
    harness.slack.add_thread(QA, [{"type": "message", "user": BOB, "ts": ts(5), "text": "two"}])
    harness.slack.channels[QA]["is_private"] = True
    await add_destination(harness)
    await set_policy(harness, forward_from="public")
    await react(harness)
    await react(harness, message_ts=ts(5), event_id="Ev2")
    assert len(harness.slack.calls_to("conversations.info")) == 1
    refusals = [t for t in dms(harness, JANE) if t.startswith("Not sent")]
    assert len(refusals) == 2 and forwards(harness) == []
