"""The outside world, run by the orchestrator on 127.0.0.1: Slack and iCloud.

The Slack Web API stand-in and the iCloud-like SMTP server (STARTTLS + AUTH, certificates
from a private trustme CA) come from ``tests/support``; the bench adds an arrival clock to
the SMTP server. Everything under test (the bot, the bare Bolt app, the comparison SMTP
clients) runs in child processes that trust the CA through ``SSL_CERT_FILE``, as an
operator's would.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme
from aiosmtpd.smtp import Envelope

from bench import data
from tests.support.icloud_smtpd import Account, ICloudLikeServer
from tests.support.slack_standin import SlackStandIn

REPO = Path(__file__).resolve().parents[1]
MESSAGE_ID = re.compile(rb"(?im)^Message-ID:\s*(<[^>\r\n]+>)")
SIGNING_SECRET = "bench-signing-secret-0123456789"


class TimedSmtpServer(ICloudLikeServer):
    """Records when each message was accepted, and its size.

    Everything up to DATA is the test server's (STARTTLS, AUTH with app-specific
    passwords, the From check at MAIL); accepting the data skips its parse-and-keep of
    each message, which only tests need: the bench's clients should share a server whose
    own cost is as small as it can be.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[float] = []
        self.sizes: list[int] = []
        self.message_ids: list[str] = []
        self._count = asyncio.Condition()

    async def _deliver(self, account: Account, envelope: Envelope) -> str:
        self.arrivals.append(time.perf_counter())
        content = envelope.original_content or b""
        self.sizes.append(len(content))
        found = MESSAGE_ID.search(content, 0, 16_384)  # in the headers, near the top
        self.message_ids.append(found.group(1).decode() if found else "")
        async with self._count:
            self._count.notify_all()
        return f"250 2.0.0 Ok: queued as {secrets.randbits(44):011X}"

    def reset(self) -> None:
        self.arrivals.clear()
        self.sizes.clear()
        self.message_ids.clear()

    async def wait_for_count(self, count: int, timeout: float) -> float:  # noqa: ASYNC109
        """Wait until ``count`` messages arrived; return the arrival time of the last one."""
        async with asyncio.timeout(timeout), self._count:
            await self._count.wait_for(lambda: len(self.arrivals) >= count)
        return self.arrivals[count - 1]


class World:
    """Slack stand-in + iCloud-like server + the CA bundle file, for one bench run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = trustme.CA()
        self.ca_file = folder / "bench-ca.pem"
        self.slack = SlackStandIn()
        self.smtp = TimedSmtpServer(
            ca=self.ca, accounts=[Account(login=data.SENDER_LOGIN, asp=data.SENDER_ASP)]
        )

    async def __aenter__(self) -> World:
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        await self.slack.start()
        await self.smtp.start()
        for person in data.people():
            self.slack.add_user(
                person.user_id,
                name=person.name,
                display_name=person.display_name,
                real_name=person.real_name,
                tz=person.tz,
            )
        self.slack.add_channel("C000001", name="general")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.smtp.stop()
        await self.slack.stop()

    def add_threads(self, first: int, count: int, size: int) -> None:
        for index in range(first, first + count):
            self.slack.add_channel(data.channel_id(index), name=data.channel_name(index))
            self.slack.add_thread(data.channel_id(index), data.thread(index, size))

    def forget_calls(self) -> None:
        """The stand-in records every call; drop them between rounds (memory, scans)."""
        self.slack.calls.clear()
        self.slack.messages.clear()
        self.slack.views.clear()
        self.slack.response_url_posts.clear()

    def plain_env(self) -> dict[str, str]:
        """For children that are not the product (load generator, comparison clients)."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "PYTHONPATH": str(REPO),
            "SSL_CERT_FILE": str(self.ca_file),
        }

    def child_env(self, database: Path | str, secret_key: str, **extra: str) -> dict[str, str]:
        """Environment of a child under test: settings only from here, the CA trusted.
        ``database``: a SQLite file, or a database URL (PostgreSQL)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "PYTHONPATH": str(REPO),
            "PYTHONHASHSEED": "0",
            "SSL_CERT_FILE": str(self.ca_file),
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "XENOCEPT_DATABASE_URL": (
                database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
            ),
            "XENOCEPT_SECRET_KEY": secret_key,
            "XENOCEPT_SMTP_ALLOW_HOSTS": "127.0.0.1",
            "XENOCEPT_LOG_LEVEL": "WARNING",
            # Operator limits set high: the bench sends far more than a person would.
            "XENOCEPT_USER_SENDS_PER_HOUR": "1000000",
            "XENOCEPT_DESTINATION_SENDS_PER_DAY": "1000000",
            "BENCH_SMTP_PORT": str(self.smtp.submission_port),
        }
        env.update(extra)
        return env


def python() -> str:
    return sys.executable
