"""A bot process killed with deliveries queued and in flight loses none of them.

The bot runs for real (`python -m bot run --http`) against the Slack stand-in and the
iCloud-like server, trusting the test CA through SSL_CERT_FILE as an operator would.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

from tests.conftest import SIGNING_SECRET
from tests.support.bot_process import BotProcess, add_icloud
from tests.support.harness import BOB, JANE
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn


async def test_killed_with_sends_queued_and_in_flight_then_restarted(
    bot_env: dict[str, str], slack: SlackStandIn, icloud: ICloudLikeServer
) -> None:
    requests = SlackRequests(SIGNING_SECRET)
    first = BotProcess(bot_env)
    await first.start()
    try:
        await add_icloud(first, slack, icloud, requests)
        await icloud.wait_for_messages(1)  # the automatic test send

        icloud.hold_after_data = True
        for _ in range(5):  # five acknowledged sends
            assert (
                await first.send(
                    requests.slash_command(
                        user_id=JANE, text="test iCloud", response_url=slack.response_url()
                    )
                )
                == 200
            )
        await icloud.wait_for_messages(2)  # one is in DATA, its 250 held back
        first.kill()
    finally:
        await first.stop()

    icloud.release()
    second = BotProcess(bot_env)
    await second.start()
    try:
        received = await icloud.wait_for_messages(7, timeout=20)
    finally:
        await second.stop()
    ids_seen = Counter(str(m.message["Message-ID"]) for m in received[1:])
    assert len(ids_seen) == 5  # every acknowledged send arrived
    assert sorted(ids_seen.values()) == [1, 1, 1, 1, 2]  # only the interrupted one twice
    interrupted = str(received[1].message["Message-ID"])
    assert ids_seen[interrupted] == 2


async def test_sigterm_finishes_the_send_in_flight_and_exits_0(
    bot_env: dict[str, str], slack: SlackStandIn, icloud: ICloudLikeServer
) -> None:
    """systemd, Docker and Kubernetes stop with SIGTERM: a graceful stop, not a kill."""
    requests = SlackRequests(SIGNING_SECRET)
    bot = BotProcess({**bot_env, "XENOCEPT_LOG_LEVEL": "INFO"})
    bot.capture = True
    await bot.start()
    try:
        icloud.hold_after_data = True  # the automatic test send waits in DATA
        await add_icloud(bot, slack, icloud, requests)
        await icloud.wait_for_messages(1)
        assert bot.process is not None
        bot.process.send_signal(signal.SIGTERM)
        await bot.wait_for_log("SIGTERM received")
        assert bot.process.poll() is None  # still finishing its work
        icloud.release()
        code = await asyncio.to_thread(bot.process.wait, 20)
        log = bot.output()
        assert code == 0, log
        assert "SIGTERM received: finishing work in progress, then stopping" in log
        assert "Traceback" not in log
        # The send in flight was finished and recorded: a restart sends nothing again.
        report = await slack.wait_for("chat.update", lambda c: "works" in str(c.params["text"]))
        assert report is not None and len(icloud.received) == 1
    finally:
        await bot.stop()


async def test_a_real_bot_keeps_sending_while_slack_is_down(
    bot_env: dict[str, str], slack: SlackStandIn, icloud: ICloudLikeServer
) -> None:
    """Slack stopped mid-run: the email still goes out; the status follows when it is back."""
    requests = SlackRequests(SIGNING_SECRET)
    bot = BotProcess(bot_env)
    await bot.start()
    try:
        await add_icloud(bot, slack, icloud, requests)
        await slack.wait_for("chat.update", lambda c: "works" in str(c.params["text"]))
        await slack.stop()
        assert (
            await bot.send(
                requests.slash_command(
                    user_id=JANE, text="test iCloud", response_url=slack.response_url()
                )
            )
            == 200
        )
        assert len(await icloud.wait_for_messages(2)) == 2  # sent with Slack down
        before = len(slack.calls)
        await slack.start()
        await slack.wait_for(
            "chat.postMessage",
            lambda c: (
                "works" in str(c.params["text"])
                and any(c is later for later in slack.calls[before:])
            ),
        )
    finally:
        await bot.stop()
    assert len(icloud.received) == 2


QA = "C0QA"
POSTS = 50


def ts(i: int) -> str:
    return f"{1_700_000_000 + i}.{100 + i:06d}"


async def test_a_followed_channels_burst_survives_a_kill_and_restart(
    bot_env: dict[str, str], slack: SlackStandIn, icloud: ICloudLikeServer
) -> None:
    """Every post arrives, in order; only the one the server held in DATA goes twice, with
    the same Message-ID (all SMTP allows when the 250 never came back)."""
    slack.add_channel(QA, name="qa-reports")
    requests = SlackRequests(SIGNING_SECRET)
    env = {**bot_env, "XENOCEPT_USER_SENDS_PER_HOUR": "100"}
    first = BotProcess(env)
    await first.start()
    try:
        await add_icloud(first, slack, icloud, requests)
        await icloud.wait_for_messages(1)  # the automatic test send
        command = requests.slash_command(
            user_id=JANE, text="follow #qa-reports all", response_url=slack.response_url("f")
        )
        assert await first.send(command) == 200
        await slack.wait_for_response_url(lambda body: "Following" in str(body.get("text")))

        icloud.hold_after_data = True  # the first forward waits in DATA
        for i in range(POSTS):
            event = requests.channel_message(
                user_id=BOB, channel_id=QA, ts=ts(i), text=f"post number {i:02d}"
            )
            assert await first.send(requests.event(event, event_id=f"Ev{i}")) == 200
        await icloud.wait_for_messages(2)
        first.kill()
    finally:
        await first.stop()

    icloud.release()
    second = BotProcess(env)
    await second.start()
    try:
        received = await icloud.wait_for_messages(1 + POSTS + 1, timeout=60)
    finally:
        await second.stop()
    forwards = [m.message for m in received[1:]]
    seen = Counter(str(m["Message-ID"]) for m in forwards)
    assert len(seen) == POSTS and sorted(seen.values()) == [1] * (POSTS - 1) + [2]
    first_arrivals: list[int] = []
    for message in forwards:
        body = message.get_body(("plain",))
        assert body is not None
        number = int(str(body.get_content()).split("post number ")[1][:2])
        if number not in first_arrivals:
            first_arrivals.append(number)
    assert first_arrivals == list(range(POSTS))
