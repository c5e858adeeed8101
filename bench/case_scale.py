"""Case 7: scale-out. Two ``xenocept run --http`` instances (each with its outbox worker)
share one PostgreSQL database; send submissions are spread over both, as a load balancer
would, and each instance's log says which deliveries its worker sent. The split, and that
no delivery went out twice (by Message-ID at the server), are what this case shows.

PostgreSQL is the test suite's (``tests/support/postgres.py``: Debian's server on
loopback, fsync off); without its binaries the case says so and measures nothing.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.case_ack import REQUESTERS, _resigned, build_requests, open_modals
from bench.config import Config
from bench.procs import ServerChild, bot_server, run_child
from bench.setup import prepare_database
from bench.stats import Row
from bench.world import World
from bot.crypto import new_key
from tests.support.postgres import PostgresServer, find_binaries

SENT_LINE = re.compile(r"delivery (\S+) sent by (\S+):")
INSTANCES = ("A", "B")


async def run(world: World, folder: Path, config: Config) -> tuple[list[Row], dict[str, Any]]:
    count = config.scale_deliveries
    case = f"7 Scale-out, 2 instances on PostgreSQL, {count:,} sends"
    binaries = find_binaries()
    if binaries is None:
        return [Row(case, "deliveries split", "", 0.0, "PostgreSQL (not installed)")], {}
    database = PostgresServer(binaries)
    await asyncio.to_thread(database.start)
    try:
        with database.database() as url:
            return await _measure(world, folder, config, url, case)
    finally:
        await asyncio.to_thread(database.stop)


async def _measure(
    world: World, folder: Path, config: Config, url: str, case: str
) -> tuple[list[Row], dict[str, Any]]:
    count = config.scale_deliveries
    secret_key = new_key()
    await prepare_database(
        url, secret_key=secret_key, users=REQUESTERS, smtp_port=world.smtp.submission_port
    )
    env = world.child_env(url, secret_key, XENOCEPT_LOG_LEVEL="INFO")
    servers: dict[str, ServerChild] = {}
    for name in INSTANCES:
        servers[name] = bot_server(env, label=f"scale-{name}")
        servers[name].log = folder / f"scale-{name}.log"
    try:
        for server in servers.values():
            await server.start()
        modals = await open_modals(world, servers["A"], count)  # drafts: in the shared database
        requests = build_requests(
            count, round_no=0, world=world, modals=modals, kinds=("submission",)
        )
        world.smtp.reset()
        started = time.perf_counter()
        halves = [_resigned(requests[n :: len(INSTANCES)]) for n in range(len(INSTANCES))]
        results = await asyncio.gather(
            *(
                run_child(
                    "loadgen",
                    {
                        "url": server.url,
                        "concurrency": 25,
                        "warmup_concurrency": 25,
                        "requests": half,
                        "warmup": [],
                    },
                    env=world.plain_env(),
                )
                for server, half in zip(servers.values(), halves, strict=True)
            )
        )
        last = await world.smtp.wait_for_count(count, timeout=600)
        seconds = last - started
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
        received = list(world.smtp.message_ids)
    finally:
        for server in servers.values():
            await server.stop()
    sent_by: dict[str, set[str]] = {}
    for name, server in servers.items():
        assert server.log is not None
        text = server.log.read_text(errors="replace")
        sent_by[name] = {match.group(1) for match in SENT_LINE.finditer(text)}
    twice = sum(n - 1 for n in Counter(received).values() if n > 1)
    both = sent_by["A"] & sent_by["B"]
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result["statuses"])
    note = (
        f"A sent {len(sent_by['A']):,}, B sent {len(sent_by['B']):,}; by both: {len(both)}; "
        f"Message-IDs twice at the server: {twice}; acks: {dict(statuses)}"
    )
    return [
        Row(
            case,
            "sent by instance A ÷ by B",
            "",
            float(len(sent_by["A"])),
            "instance B",
            float(len(sent_by["B"])),
            target="both send, none twice",
            met=bool(sent_by["A"]) and bool(sent_by["B"]) and not both and twice == 0,
            note=note,
        ),
        Row(case, "throughput (both)", "msg/s", count / seconds),
    ], {"sent_by": {k: len(v) for k, v in sent_by.items()}, "twice": twice}
