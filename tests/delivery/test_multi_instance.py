"""Three real bot processes share one PostgreSQL outbox; one is killed mid-run.

300 test sends are queued through the instances (as a load balancer would spread Slack's
requests), one instance gets SIGKILL while it holds claims, and every delivery still
arrives exactly once by Message-ID — except at most one per send that was in flight in the
killed process (accepted by the server, not yet recorded). Deliveries go to one
destination, so each instance has at most one send in flight at a time.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import aiohttp
import trustme
from sqlalchemy import text

from bot import ids
from bot.crypto import new_key
from storage.db import create_engine
from tests.conftest import SIGNING_SECRET
from tests.support.bot_process import REPO, BotProcess
from tests.support.harness import JANE, form_values
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.postgres import PostgresServer
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn

DELIVERIES = 300
LEASE_SECONDS = 2


def environment(url: str, slack: SlackStandIn, ca_bundle: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SSL_CERT_FILE": str(ca_bundle),
        "XENOCEPT_DATABASE_URL": url,
        "XENOCEPT_SECRET_KEY": new_key(),
        "XENOCEPT_SMTP_ALLOW_HOSTS": "127.0.0.1",
        "XENOCEPT_RETRY_BASE_SECONDS": "0.05",
        "XENOCEPT_LEASE_SECONDS": str(LEASE_SECONDS),
        "XENOCEPT_LOG_LEVEL": "WARNING",
    }


async def scalar(url: str, sql: str, **params: object) -> object:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def test_three_instances_one_killed_every_delivery_sent_once(
    postgres: PostgresServer,
    slack: SlackStandIn,
    icloud: ICloudLikeServer,
    ca: trustme.CA,
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    requests = SlackRequests(SIGNING_SECRET)
    with postgres.database() as url:
        env = environment(url, slack, bundle, tmp_path)
        bots = [BotProcess(env) for _ in range(3)]
        try:
            await asyncio.gather(*(bot.start() for bot in bots))
            assert (
                await bots[0].send(
                    requests.slash_command(
                        user_id=JANE, text="add", response_url=slack.response_url()
                    )
                )
                == 200
            )
            await slack.wait_for("views.open")
            view = next(
                v for v in slack.views.values() if v["callback_id"] == ids.VIEW_DESTINATION_FORM
            )
            submit = requests.view_submission(
                user_id=JANE,
                view=view,
                values=form_values(host="127.0.0.1", port=icloud.submission_port),
            )
            assert await bots[1].send(requests.interactivity(submit)) == 200
            await icloud.wait_for_messages(1, timeout=20)  # the automatic test send

            victim = bots[2]
            killer = asyncio.create_task(kill_while_holding_claims(victim, url, icloud))
            gate = asyncio.Semaphore(20)

            async def queue(n: int) -> int:
                """Spread over the instances as a load balancer does, which sends a request
                again to another instance when the one it chose is dead or drops it. (Its
                trigger id makes a request that had got through before the drop count once.)"""
                signed = requests.slash_command(
                    user_id=JANE, text="test iCloud", response_url=slack.response_url()
                )
                async with gate:
                    for attempt in range(3):
                        bot = bots[(n + attempt) % 3]
                        if bot.process is None or bot.process.poll() is not None:
                            continue
                        try:
                            return await bot.send(signed)
                        except aiohttp.ClientError:
                            continue
                raise AssertionError("no instance took the request")

            statuses = await asyncio.gather(*(queue(n) for n in range(DELIVERIES)))
            assert set(statuses) == {200}
            assert await scalar(url, "SELECT count(*) FROM delivery") == DELIVERIES + 1
            held = await killer
            assert held, "the instance to kill never held a claim"
            sent_before_kill = len(icloud.received)
            assert sent_before_kill < DELIVERIES  # mid-run, not after

            await icloud.wait_for_messages(DELIVERIES + 1, timeout=120)
            for _ in range(200):  # the survivors record the last outcomes
                if await scalar(url, "SELECT count(*) FROM delivery WHERE status <> 'SENT'") == 0:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(LEASE_SECONDS + 1)  # and nothing arrives late
        finally:
            for bot in bots:
                await bot.stop()

        assert await scalar(url, "SELECT count(*) FROM delivery WHERE status <> 'SENT'") == 0
        expected = {str(row) for row in await message_ids(url)}
        seen = Counter(str(mail.message["Message-ID"]) for mail in icloud.received)
        assert set(seen) == expected  # every delivery arrived, nothing foreign
        duplicates = sum(count - 1 for count in seen.values())
        assert duplicates <= 1, seen.most_common(3)  # one send was in flight when killed
        survivors = await scalar(
            url, "SELECT count(DISTINCT split_part(claimed_by, ':', 2)) FROM delivery"
        )
        assert survivors == 0  # every claim was released by whoever finished it


async def kill_while_holding_claims(victim: BotProcess, url: str, icloud: ICloudLikeServer) -> int:
    """SIGKILL ``victim`` once it holds claims and the run is under way; returns how many."""
    mine = f"%:{victim.worker_pid()}:%"  # the outbox process of that instance
    deadline = time.monotonic() + 60
    held = 0
    while time.monotonic() < deadline:
        held = int(
            str(
                await scalar(
                    url,
                    "SELECT count(*) FROM delivery WHERE status = 'SENDING' "
                    "AND claimed_by LIKE :mine",
                    mine=mine,
                )
            )
        )
        if held and len(icloud.received) > 20:
            break
        await asyncio.sleep(0.005)
    victim.kill()
    return held


async def message_ids(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list(
                (await connection.execute(text("SELECT message_id FROM delivery"))).scalars()
            )
    finally:
        await engine.dispose()
