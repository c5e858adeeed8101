"""Case 5: shortcut submit → email accepted by the server, ``xenocept run --http``.

Per run: the "Send to email" message shortcut on the parent of a 250-message thread (the
bot opens the send modal at the stand-in), then — the clock starts here — the modal's
submission; the clock stops when the iCloud-like server accepts the email (its 250 after
DATA). In between the bot queues the send, its outbox wakes, reads the thread from the
stand-in in pages of 200, looks up the people and the permalink, renders, connects with
STARTTLS + AUTH and sends. Runs are sequential: this is latency, not load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench import data
from bench.case_ack import send_values
from bench.config import Config
from bench.procs import bot_server
from bench.setup import prepare_database
from bench.stats import Row, percentile
from bench.world import SIGNING_SECRET, World
from bot import ids
from bot.crypto import new_key
from tests.support.slack_requests import SignedRequest, SlackRequests
from tests.support.slack_standin import Call

FIRST_THREAD = 500_000  # thread indexes apart from the delivery case's


async def run(world: World, folder: Path, config: Config) -> tuple[list[Row], dict[str, Any]]:
    world.forget_calls()
    world.add_threads(FIRST_THREAD, config.e2e_runs, config.e2e_thread_size)
    secret_key = new_key()
    database = folder / "e2e.db"
    destination_ids = await prepare_database(
        database, secret_key=secret_key, users=[data.SENDER], smtp_port=world.smtp.submission_port
    )
    server = bot_server(world.child_env(database, secret_key))
    signer = SlackRequests(SIGNING_SECRET)
    latencies: list[float] = []
    acks: list[float] = []
    cold = 0.0
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:

            async def post(signed: SignedRequest) -> int:
                async with http.post(
                    server.url, data=signed.body.encode(), headers=signed.headers
                ) as response:
                    await response.read()
                    return response.status

            for n in range(-1, config.e2e_runs):  # run -1 warms the bot up, not recorded
                index = FIRST_THREAD + max(n, 0)
                parent = data.thread(index, config.e2e_thread_size)[0]
                trigger = f"e2e.{n}.trigger"
                status = await post(
                    signer.interactivity(
                        signer.message_shortcut(
                            user_id=data.SENDER,
                            callback_id=ids.SHORTCUT_SEND_TO_EMAIL,
                            channel_id=data.channel_id(index),
                            channel_name=data.channel_name(index),
                            message=parent,
                            response_url=world.slack.response_url(f"e{n}"),
                            trigger_id=trigger,
                        )
                    )
                )
                assert status == 200, status
                await world.slack.wait_for("views.open", _with_trigger(trigger))
                view = [
                    v for v in world.slack.views.values() if v["callback_id"] == ids.VIEW_SEND_FORM
                ][-1]
                world.smtp.reset()
                submit = signer.interactivity(
                    signer.view_submission(
                        user_id=data.SENDER,
                        view=view,
                        values=send_values(destination_ids[data.SENDER], scope="thread"),
                    )
                )
                started = time.perf_counter()
                status = await post(submit)
                acked = time.perf_counter()
                assert status == 200, status
                arrived = await world.smtp.wait_for_count(1, timeout=60)
                if n >= 0:
                    latencies.append((arrived - started) * 1000)
                    acks.append((acked - started) * 1000)
                else:
                    cold = (arrived - started) * 1000  # first send: no cached names yet
    finally:
        await server.stop()
    calls = _calls_per_run(world, config.e2e_runs + 1)
    case = f"5 End to end, {config.e2e_thread_size}-msg thread"
    return [
        Row(
            case,
            "submit → accepted p50",
            "ms",
            percentile(latencies, 50),
            note=f"submission ack p50 {percentile(acks, 50):.1f} ms; the first run (no "
            f"cached names, not counted) {cold:.0f} ms",
        ),
        Row(
            case,
            f"submit → accepted p99 ({config.e2e_runs} runs)",
            "ms",
            percentile(latencies, 99),
            note=f"Slack calls per run: {calls}",
        ),
    ], {
        "latencies_ms": latencies,
        "ack_ms": acks,
        "first_run_ms": cold,
        "slack_calls_per_run": calls,
    }


def _with_trigger(trigger: str) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return call.params.get("trigger_id") == trigger

    return matches


def _calls_per_run(world: World, runs: int) -> dict[str, float]:
    counts: dict[str, int] = {}
    for call in world.slack.calls:
        counts[call.method] = counts.get(call.method, 0) + 1
    return {method: round(count / runs, 1) for method, count in sorted(counts.items())}
