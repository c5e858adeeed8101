"""A real ``xenocept run --http`` process (and the outbox worker it starts) for tests.

It runs against the Slack stand-in and the iCloud-like server, trusting the test CA
through SSL_CERT_FILE as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import trustme

from bot import ids
from bot.crypto import new_key
from tests.conftest import SIGNING_SECRET
from tests.support.harness import JANE, form_values
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

    def worker_pid(self) -> int:
        """The outbox worker this bot started (its only child process)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        [pid] = children.read_text().split()
        return int(pid)

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


def bot_environment(tmp_path: Path, slack: SlackStandIn, ca: trustme.CA) -> dict[str, str]:
    """What an operator's environment holds for one bot on a SQLite file in ``tmp_path``."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return {
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
