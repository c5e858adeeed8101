"""Case 6: no growth over time. The real Outbox of the real app delivers many sessions to
one destination; the bot process's resident memory is read after the first checkpoint's
deliveries and after the last one. Caches are bounded and nothing is kept per delivery,
so the second reading should be close to the first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import Config
from bench.procs import run_child
from bench.setup import remove_database
from bench.stats import Row
from bench.world import World
from bot.crypto import new_key

FIRST_THREAD = 100_000  # thread indexes of their own, apart from case 2's


async def run(world: World, folder: Path, config: Config) -> tuple[list[Row], dict[str, Any]]:
    count, checkpoint = config.growth_deliveries, config.growth_checkpoint
    world.add_threads(FIRST_THREAD, count, config.growth_thread_size)
    world.smtp.reset()
    world.forget_calls()
    secret_key = new_key()
    database = folder / "growth.db"
    try:
        result = await run_child(
            "deliver-ours",
            {
                "first": FIRST_THREAD,
                "count": count,
                "port": world.smtp.submission_port,
                "database": str(database),
                "secret_key": secret_key,
                "rss_at": [checkpoint, count],
            },
            world.child_env(database, secret_key),
            timeout=3600,
        )
    finally:
        remove_database(database)
    rss = result["rss_at_mb"]
    first, last = rss.get(str(checkpoint)), rss.get(str(count))
    ratio_ok = first is not None and last is not None and last <= 1.2 * first
    return [
        Row(
            f"6 No growth, {count:,} deliveries of {config.growth_thread_size}-msg threads",
            f"bot RSS after {count:,}",
            "MB",
            last or 0.0,
            f"the same process after {checkpoint:,}",
            first,
            target="≤ 1.2×",
            met=ratio_ok,
            note=f"{result['sent']:,} sent, {result['failed']} failed; "
            f"{count / result['seconds']:.0f} sessions/s",
        )
    ], {"result": result}
