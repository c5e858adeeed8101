"""Following a channel: commands, then signed message events as Slack sends them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import ids
from tests.listeners.test_reactions import dms, forwards
from tests.listeners.test_send_to_email import shared_session
from tests.support.harness import BOB, JANE, Harness
from tests.support.send_flow import add_destination, bodies, rows, set_policy

QA = "C0QA"
T0 = 1_700_000_000


def ts(i: int) -> str:
    return f"{T0 + 60 * i}.{100 + i:06d}"


async def follow(harness: Harness, text: str, *, user: str = JANE) -> str:
    """``/xenocept follow …``; returns what the app answered (ephemeral, after the ack)."""
    before = len(harness.slack.response_url_posts)
    status, body = await harness.command(f"follow {text}", user=user)
    assert status == 200
    if isinstance(body, dict):  # answered in the ack: the usage
        return str(body["text"])
    await harness.app.listeners.finish(grace=5)
    return str(harness.slack.response_url_posts[before][1]["text"])


async def post(
    harness: Harness,
    i: int,
    *,
    user: str = BOB,
    event_id: str | None = None,
    retry_num: int | None = None,
    **fields: Any,
) -> None:
    event = harness.requests.channel_message(user_id=user, channel_id=QA, ts=ts(i), **fields)
    status, _ = await harness.send(
        harness.requests.event(event, event_id=event_id or f"Ev{i}", retry_num=retry_num)
    )
    assert status == 200
    await harness.app.listeners.finish(grace=5)


def qa_channel(harness: Harness) -> None:
    harness.slack.add_channel(QA, name="qa-reports")


def session_files(harness: Harness) -> list[dict[str, Any]]:
    message, _ = shared_session(harness.slack)
    return list(message["files"])


async def mails_after_test(harness: Harness, count: int) -> list[Any]:
    """The ``count`` emails after the destination's test send."""
    received = await harness.smtp.wait_for_messages(1 + count)
    return [m.message for m in received[1:]]


async def test_follow_following_unfollow_and_stop_on_home(harness: Harness) -> None:
    qa_channel(harness)
    harness.slack.add_channel("C0DEV", name="dev")
    await add_destination(harness)
    said = await follow(harness, f"<#{QA}|qa-reports>")
    assert said.startswith("Following: each new Xenocept session posted in <#C0QA>")
    await follow(harness, "dev all")
    _, body = await harness.command("following")
    assert "2 channel" in body["text"]
    stop = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in stop] == [ids.ACTION_STOP_FOLLOW] * 2

    _, body = await harness.command("unfollow #qa-reports")
    assert body["text"] == "Stopped following <#C0QA>."
    _, body = await harness.command("unfollow #qa-reports")
    assert "You don't follow #qa-reports" in body["text"]

    opened = harness.requests.event({"type": "app_home_opened", "user": JANE, "tab": "home"})
    assert (await harness.send(opened))[0] == 200
    await harness.app.listeners.finish(grace=5)
    home = json.dumps(harness.slack.home_views[JANE])
    assert "Channels you follow" in home and "Every new message posted in <#C0DEV>" in home
    [(dev_follow,)] = rows(harness, "select id from follow")
    click = harness.requests.block_actions(
        user_id=BOB, action_id=ids.ACTION_STOP_FOLLOW, value=dev_follow, view={"id": "V1"}
    )
    assert (await harness.action(click))[0] == 200  # Bob's click on Jane's follow
    await harness.app.listeners.finish(grace=5)
    assert rows(harness, "select count(*) from follow") == [(1,)]
    click = {**click, "user": {**click["user"], "id": JANE}}
    assert (await harness.action(click))[0] == 200
    await harness.app.listeners.finish(grace=5)
    assert rows(harness, "select count(*) from follow") == [(0,)]
    assert "Channels you follow" not in json.dumps(harness.slack.home_views[JANE])


async def test_a_session_posted_in_a_followed_channel_arrives_once(harness: Harness) -> None:
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports")
    files = session_files(harness)
    await post(harness, 1, files=files, text="New session")
    await post(harness, 1, files=files, text="New session", retry_num=1)  # Slack retries
    await post(harness, 2, text="just chatting")  # not a session: not forwarded

    [mail] = await mails_after_test(harness, 1)
    assert str(mail["Subject"]).startswith("Xenocept: ")
    await harness.dm_update(lambda text: text.startswith("✅ Sent"))
    assert len(forwards(harness)) == 1 and len(harness.smtp.received) == 2


async def test_plain_messages_arrive_only_with_all(harness: Harness) -> None:
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports all")
    await post(harness, 1, text="deploy at 5")
    await post(harness, 2, text="edited", subtype="message_changed")
    await post(harness, 3, text="bye", subtype="message_deleted")
    await post(harness, 4, text="a reply", thread_ts=ts(1))
    await post(harness, 5, text="our own status", user="UBOT", bot_id="B0XENO")

    mails = await mails_after_test(harness, 2)
    plains = [bodies(m)[0] for m in mails]
    assert any("deploy at 5" in p for p in plains) and any("a reply" in p for p in plains)
    assert len(forwards(harness)) == 2


async def test_only_members_follow_and_the_bot_must_be_invited(harness: Harness) -> None:
    qa_channel(harness)
    harness.slack.members[QA] = [BOB]
    await add_destination(harness)
    assert "Only members of #qa-reports can follow it" in await follow(harness, "#qa-reports")
    harness.slack.add_channel("C0PRIV", name="secret", bot_is_member=False)
    said = await follow(harness, "<#C0PRIV|secret>")
    assert "/invite @Xenocept" in said
    assert "can't find the channel #nowhere" in await follow(harness, "#nowhere")
    assert "Usage" in await follow(harness, "#qa-reports daily 25:00")
    assert rows(harness, "select count(*) from follow") == [(0,)]


async def test_a_follower_who_left_gets_nothing_and_the_follow_ends(harness: Harness) -> None:
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports all")
    harness.slack.members[QA] = [BOB]  # Jane left
    await post(harness, 1, text="after she left")
    done = await harness.dm_update(lambda text: text.startswith("❌"))
    assert "no longer a member of #qa-reports" in json.dumps(done.params["blocks"])
    assert len(harness.smtp.received) == 1  # the test send only
    assert rows(harness, "select count(*) from follow") == [(0,)]


async def test_a_burst_of_fifty_all_arrive_in_order_none_twice(harness: Harness) -> None:
    harness.app.services.settings.user_sends_per_hour = 60
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports all")
    for i in range(1, 51):
        await post(harness, i, text=f"post number {i:02d}")
    await post(harness, 7, text="post number 07", retry_num=2, event_id="Ev7")

    mails = await mails_after_test(harness, 50)
    numbers = [int(bodies(m)[0].split("post number ")[1][:2]) for m in mails]
    assert numbers == list(range(1, 51))
    assert len(forwards(harness)) == 50


async def test_the_daily_limit_pauses_the_follow_and_loses_nothing(
    harness: Harness,
) -> None:
    harness.app.services.settings.destination_sends_per_day = 2
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports all")
    for i in range(1, 5):
        await post(harness, i, text=f"post number {i}")

    await mails_after_test(harness, 2)
    paused = await harness.slack.wait_for(
        "chat.postMessage", lambda c: "paused for the day" in str(c.params.get("text", ""))
    )
    assert paused.params["channel"] == JANE
    await harness.slack.wait_for("chat.update", lambda _: waiting(harness) == 2)
    assert rows(harness, "select count(*) from delivery where status = 'QUEUED'") == [(2,)]
    said_once = [t for t in dms(harness, JANE) if "paused for the day" in t]
    assert len(said_once) == 1

    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    harness.app.services.clock = lambda: later
    with_rows = rows(harness, "select id from delivery where status = 'QUEUED'")
    assert with_rows
    await _due_now(harness)
    mails = await mails_after_test(harness, 4)
    assert [bodies(m)[0].split("post number ")[1][:1] for m in mails] == ["1", "2", "3", "4"]


def waiting(harness: Harness) -> int:
    updates = harness.slack.calls_to("chat.update")
    return sum(1 for c in updates if str(c.params.get("text", "")).startswith("⏸ Waiting"))


async def _due_now(harness: Harness) -> None:
    """The waiting rows fall due at once (the clock moved; the worker's sleep is woken)."""
    import sqlite3

    with sqlite3.connect(harness.database_path) as connection:
        connection.execute("update delivery set next_attempt_at = '2000-01-01 00:00:00'")
    harness.app.outbox.wake()


async def test_a_daily_digest_holds_exactly_the_days_posts(harness: Harness) -> None:
    qa_channel(harness)
    await add_destination(harness)
    start = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    harness.app.services.clock = lambda: start
    said = await follow(harness, "#qa-reports all daily 08:30")
    assert "daily digest at 08:30 (Europe/Berlin)" in said
    [(due,)] = rows(harness, "select next_digest_at from follow")
    assert str(due).startswith("2026-12-02 07:30")  # 08:30 Berlin in UTC
    files = session_files(harness)
    await post(harness, 1, files=files, text="A session")
    await post(harness, 2, text="and a message")
    assert len(forwards(harness)) == 0 and len(harness.smtp.received) == 1

    harness.app.services.clock = lambda: start + timedelta(hours=1, minutes=31)
    harness.app.outbox.wake()
    [mail] = await mails_after_test(harness, 1)
    plain, html = bodies(mail)
    assert str(mail["Subject"]).startswith("Daily digest of #qa-reports: 2 posts")
    assert plain.count("═" * 60) == 2 and "and a message" in plain and "Xenocept session" in plain
    assert html.count("View in Slack") >= 2
    assert rows(harness, "select count(*) from followitem") == [(0,)]
    [(due,)] = rows(harness, "select next_digest_at from follow")
    assert str(due).startswith("2026-12-03 07:30")

    await post(harness, 3, text="tomorrow's")  # the next digest collects it, not this one
    assert rows(harness, "select count(*) from followitem") == [(1,)]


async def test_policy_refuses_a_blocked_channel_and_pauses_a_follow(harness: Harness) -> None:
    qa_channel(harness)
    await add_destination(harness)
    await set_policy(harness, blocked_channels=QA)
    assert "does not allow forwarding from this channel" in await follow(harness, "#qa-reports")

    await set_policy(harness, blocked_channels="")
    await follow(harness, "#qa-reports all")
    await set_policy(harness, blocked_channels=QA)
    await post(harness, 1, text="now blocked")
    await post(harness, 2, text="still blocked")
    stopped = [t for t in dms(harness, JANE) if "no longer forwarded" in t]
    assert len(stopped) == 1 and "does not allow forwarding" in stopped[0]
    assert forwards(harness) == []


async def test_a_destination_the_policy_no_longer_allows_stops_the_follow(
    harness: Harness,
) -> None:
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports all")
    await set_policy(harness, allowed_domains="example.com")
    await post(harness, 1, text="first after the change")
    await post(harness, 2, text="second")
    [stopped] = [t for t in dms(harness, JANE) if "no longer forwarded" in t]
    assert "allows email only to example.com addresses" in stopped
    assert forwards(harness) == []
    _, body = await harness.command("following")
    assert "paused" in json.dumps(body["blocks"])


async def test_the_hourly_limit_delays_a_burst_without_pausing_the_follow(
    harness: Harness,
) -> None:
    harness.app.services.settings.user_sends_per_hour = 2
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports all")
    for i in range(1, 4):
        await post(harness, i, text=f"post number {i}")
    await mails_after_test(harness, 2)
    await harness.slack.wait_for("chat.update", lambda _: waiting(harness) == 1)
    assert rows(harness, "select count(*) from delivery where status = 'QUEUED'") == [(1,)]
    assert not [t for t in dms(harness, JANE) if "paused for the day" in t]
    assert rows(harness, "select paused_reason from follow") == [(None,)]


async def test_sessions_mode_ignores_thread_replies_and_uninstall_forgets_follows(
    harness: Harness,
) -> None:
    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports")
    await post(harness, 1, files=session_files(harness), thread_ts=ts(0))
    assert forwards(harness) == []
    uninstalled = harness.requests.event({"type": "app_uninstalled"}, event_id="EvU")
    assert (await harness.send(uninstalled))[0] == 200
    await harness.app.listeners.finish(grace=5)
    assert rows(harness, "select count(*) from follow") == [(0,)]


async def test_a_full_disk_leaves_the_event_unacknowledged_for_slack_to_resend(
    harness: Harness,
) -> None:
    from tests.support.faults import full_disk

    qa_channel(harness)
    await add_destination(harness)
    await follow(harness, "#qa-reports all")
    event = harness.requests.channel_message(user_id=BOB, channel_id=QA, ts=ts(1), text="hi")
    with full_disk(harness.app.services.engine) as disk:
        disk.on = True
        status, _ = await harness.send(harness.requests.event(event, event_id="EvD"))
    assert status == 503 and forwards(harness) == []
    status, _ = await harness.send(harness.requests.event(event, event_id="EvD", retry_num=1))
    assert status == 200
    await mails_after_test(harness, 1)
    assert len(forwards(harness)) == 1
