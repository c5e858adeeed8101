"""``xenocept run`` delivers in a child process that lives and dies with it."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp

from tests.conftest import SIGNING_SECRET
from tests.support.bot_process import BotProcess, add_icloud
from tests.support.harness import JANE_LOGIN
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn


async def exited(pid: int) -> None:
    """Returns when process ``pid`` (not our child) has exited: its pidfd turns readable."""
    descriptor = os.pidfd_open(pid)
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not gone.done():
            gone.set_result(None)

    loop.add_reader(descriptor, readable)
    try:
        await asyncio.wait_for(gone, 10)
    finally:
        loop.remove_reader(descriptor)
        os.close(descriptor)


async def readiness(bot: BotProcess) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{bot.port}/readyz") as response,
    ):
        return response.status, await response.json()


async def test_a_killed_bot_takes_its_outbox_worker_with_it(
    bot_env: dict[str, str], slack: SlackStandIn, icloud: ICloudLikeServer
) -> None:
    bot = BotProcess(bot_env)
    await bot.start()
    try:
        worker = bot.worker_pid()
        assert bot.process is not None and worker != bot.process.pid
        await add_icloud(bot, slack, icloud, SlackRequests(SIGNING_SECRET))
        await icloud.wait_for_messages(1)  # delivered by the worker process
        bot.kill()
        await exited(worker)  # no orphan left sending beside the next bot
    finally:
        await bot.stop()


async def test_a_worker_that_dies_is_started_again_and_not_ready_meanwhile(
    bot_env: dict[str, str], slack: SlackStandIn, icloud: ICloudLikeServer
) -> None:
    requests = SlackRequests(SIGNING_SECRET)
    bot = BotProcess(bot_env)
    bot.capture = True
    await bot.start()
    try:
        assert await readiness(bot) == (200, {"ok": True})
        worker = bot.worker_pid()
        os.kill(worker, signal.SIGKILL)
        await bot.wait_for_log("the outbox worker exited (code -9)")
        assert await readiness(bot) == (
            503,
            {"ok": False, "reason": "the outbox worker is not running"},
        )
        await bot.wait_for_log("the outbox worker runs again")
        assert await readiness(bot) == (200, {"ok": True})
        assert bot.worker_pid() != worker
        await add_icloud(bot, slack, icloud, requests)  # the new worker delivers
        [test_send] = await icloud.wait_for_messages(1)
        assert test_send.login == JANE_LOGIN
    finally:
        await bot.stop()
