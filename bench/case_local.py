"""Cases 3 and 4: rendering (time and peak RSS) and storage at size, each in a child."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import DELIVERIES_PER_USER, DESTINATIONS_PER_USER, Config
from bench.procs import run_child
from bench.stats import Row, fmt, median
from bench.world import World

TARGET_MS = 5.0


async def render(world: World, config: Config) -> tuple[list[Row], dict[str, Any]]:
    runs = [
        await run_child(
            "render", {"size": config.render_messages}, world.plain_env(), clean_rss=True
        )
        for _ in range(config.render_rounds)
    ]
    seconds = [r["seconds"] for r in runs]
    rss = [r["peak_rss_mb"] for r in runs]
    case = f"3 Render {config.render_messages:,}-msg thread"
    first = runs[0]
    hwm = [r["vm_hwm_mb"] for r in runs if r.get("vm_hwm_mb") is not None]
    note = (
        f"email {first['email_bytes'] / 1e6:.1f} MB, {first['trimmed']} trimmed; "
        f"RSS before rendering {median([r['rss_before_mb'] for r in runs]):.0f} MB"
        + (f"; VmHWM {max(hwm):.0f} MB" if hwm else "")
    )
    theirs = [r["mistune_seconds"] for r in runs if r.get("mistune_seconds") is not None]
    version = first.get("mistune_version")
    ratio = median([r["seconds"] / r["mistune_seconds"] for r in runs]) if theirs else None
    return [
        Row(
            case,
            "time",
            "s",
            median(seconds),
            f"mistune {version}, the same texts to HTML" if version else "mistune (not installed)",
            median(theirs) if theirs else None,
            target="≤ 1.0× mistune",
            met=ratio is not None and ratio <= 1.0,
            rounds=seconds,
            theirs_rounds=theirs,
            note=note,
        ),
        Row(
            case,
            "peak RSS (whole process)",
            "MB",
            max(rss),
            target="< 150 MB",
            met=max(rss) < 150,
            rounds=rss,
        ),
    ], {"runs": runs}


OPS = {
    "list_destinations": "list one user's destinations",
    "recent_deliveries": "one user's history (last 20)",
    "secretbox_open": "decrypt one secret (SecretBox.open)",
    "count_since": "rate-limit count (every send)",
    "last_used_destination_id": "last used destination (shortcut)",
    "claim_due": "outbox claim over the history",
}
TARGETED = ("list_destinations", "recent_deliveries", "secretbox_open")


async def storage(world: World, folder: Path, config: Config) -> tuple[list[Row], dict[str, Any]]:
    result = await run_child(
        "storage",
        {
            "folder": str(folder),
            "small_users": config.storage_small_users,
            "big_users": config.storage_big_users,
            "destinations_per_user": DESTINATIONS_PER_USER,
            "deliveries_per_user": DELIVERIES_PER_USER,
            "samples": config.storage_samples,
            "rounds": config.storage_rounds,
        },
        world.plain_env(),
        timeout=900,
    )
    small, big = result["sizes"]["small"], result["sizes"]["big"]
    case = (
        f"4 Storage {big['destinations']:,} dest / {big['deliveries']:,} deliveries "
        f"vs {small['deliveries']:,}"
    )
    rows = []
    for op, label in OPS.items():
        ours, theirs = big["ops"][op], small["ops"][op]
        targeted = op in TARGETED
        rows.append(
            Row(
                case,
                f"{label} p50",
                "ms",
                ours["p50_ms"],
                f"same at {small['deliveries']:,} deliveries",
                theirs["p50_ms"],
                target="p99 < 5 ms, flat" if targeted else "",
                met=(ours["p99_ms"] < TARGET_MS) if targeted else None,
                note=f"p99 {fmt(ours['p99_ms'], 'ms')} (small table {fmt(theirs['p99_ms'], 'ms')})",
            )
        )
    rows[-1].note += f"; bulk insert {result['insert_seconds']:.0f} s, file {big['file_mb']:.0f} MB"
    return rows, result
