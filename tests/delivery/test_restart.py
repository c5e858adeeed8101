"""A bot process killed with deliveries queued and in flight loses none of them.

The bot runs for real (`python -m bot run --http`) against the Slack stand-in and the
iCloud-like server, trusting the test CA through SSL_CERT_FILE as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme

from bot import ids
from bot.crypto import new_key
from tests.conftest import SIGNING_SECRET
from tests.support.harness import BOB, JANE, form_values
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.slack_requests import SignedRequest, SlackRequests
from tests.support.slack_standin import SlackStandIn

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.capture = False  # keep stderr (the log) for output()
        self._log = ""

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220 (a real process is the point)
            [
                sys.executable,
                "-m",
                "bot",
                "run",
                "--http",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            cwd=REPO,
            stderr=subprocess.PIPE if self.capture else None,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(200):  # the process needs a moment to import and bind
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        raise AssertionError("the bot did not start")

    async def send(self, signed: SignedRequest) -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{self.port}/slack/events",
                data=signed.body.encode(),
                headers=signed.headers,
            ) as response,
        ):
            return response.status

    def output(self) -> str:
        """The log so far (with ``capture``): what ``wait_for_log`` read, then the rest."""
        assert self.process is not None and self.process.stderr is not None
        return self._log + self.process.stderr.read().decode(errors="replace")

    async def wait_for_log(self, text: str) -> None:
        assert self.process is not None and self.process.stderr is not None
        stream = self.process.stderr
        while text not in self._log:
            line = await asyncio.to_thread(stream.readline)
            assert line, f"the bot exited before logging {text!r}:\n{self._log}"
            self._log += line.decode(errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def stop(self) -> None:
        """SIGTERM, then wait without blocking the loop: the stand-ins answer meanwhile."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 20)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
async def bot_env(
    tmp_path: Path, slack: SlackStandIn, ca: trustme.CA
) -> AsyncIterator[dict[str, str]]:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yield {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SSL_CERT_FILE": str(bundle),
        "XENOCEPT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "XENOCEPT_SECRET_KEY": new_key(),
        "XENOCEPT_SMTP_ALLOW_HOSTS": "127.0.0.1",
        "XENOCEPT_RETRY_BASE_SECONDS": "0.05",
        "XENOCEPT_LOG_LEVEL": "WARNING",
    }


async def add_icloud(
    bot: BotProcess, slack: SlackStandIn, icloud: ICloudLikeServer, requests: SlackRequests
) -> None:
    """/xenocept add and the filled-in setup form, sent to the real bot process."""
    assert (
        await bot.send(
            requests.slash_command(user_id=JANE, text="add", response_url=slack.response_url())
        )
        == 200
    )
    await slack.wait_for("views.open")
    view = slack.views[
        [k for k, v in slack.views.items() if v["callback_id"] == ids.VIEW_DESTINATION_FORM][-1]
    ]
    submit = requests.view_submission(
        user_id=JANE, view=view, values=form_values(host="127.0.0.1", port=icloud.submission_port)
    )
    assert await bot.send(requests.interactivity(submit)) == 200


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
