"""``python -m bench [--quick] [--out PATH] [--rounds N] [--only CASES]``: run the
benchmarks, print the table, write it as JSON. Every party runs on 127.0.0.1, started
here; see BENCHMARKS.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import case_ack, case_delivery, case_e2e, case_growth, case_local, case_scale
from bench.config import DEFAULT, QUICK, Config
from bench.stats import Row, table
from bench.world import World

# Storage last: its gigabyte of SQLite writes leaves the disk busy for a while.
CASES = ("render", "ack", "delivery", "e2e", "growth", "scale", "storage")
CaseRunner = Callable[[World, Path, Config], Awaitable[tuple[list[Row], dict[str, Any]]]]


def _runners() -> dict[str, CaseRunner]:
    async def render(world: World, _folder: Path, config: Config) -> tuple[list[Row], Any]:
        return await case_local.render(world, config)

    return {
        "ack": case_ack.run,
        "delivery": case_delivery.run,
        "render": render,
        "storage": case_local.storage,
        "e2e": case_e2e.run,
        "growth": case_growth.run,
        "scale": case_scale.run,
    }


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in (
        "slack_bolt",
        "slack_sdk",
        "aiohttp",
        "aiosmtplib",
        "aiosmtpd",
        "sqlalchemy",
        "apprise",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def write_json(out: Path, payload: dict[str, Any]) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=str))
    return out


async def main_async(args: argparse.Namespace) -> int:
    config = QUICK if args.quick else DEFAULT
    if args.rounds:
        config = replace(
            config,
            ack_rounds=args.rounds,
            delivery_rounds=args.rounds,
            render_rounds=max(args.rounds, config.render_rounds),
            storage_rounds=args.rounds,
        )
    chosen = [c.strip() for c in args.only.split(",")] if args.only else list(CASES)
    unknown = set(chosen) - set(CASES)
    if unknown:
        print(
            f"bench: unknown case(s) {', '.join(sorted(unknown))}; choose from {', '.join(CASES)}",
            file=sys.stderr,
        )
        return 2
    runners = _runners()
    rows: list[Row] = []
    details: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    load_before = os.getloadavg()  # others' work on the machine shows here
    with tempfile.TemporaryDirectory(prefix="xenocept-bench-") as tmp:
        async with World(Path(tmp)) as world:
            for case in CASES:
                if case not in chosen:
                    continue
                print(f"bench: {case} …", file=sys.stderr, flush=True)
                case_started = time.perf_counter()
                case_rows, details[case] = await runners[case](world, Path(tmp), config)
                seconds[case] = time.perf_counter() - case_started
                rows.extend(case_rows)
                print(f"bench: {case} done in {seconds[case]:.1f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    rows.sort(key=lambda row: row.case.split()[0])  # by case number; stable within a case
    info = machine()
    info["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print()
    print(table(rows))
    print()
    print(
        f"{config.name} run, {total:.0f} s on {info['nproc']} × {info['cpu']}, "
        f"Python {info['python']}"
    )
    out = write_json(
        Path(args.out),
        {
            "mode": config.name,
            "config": vars(config),
            "machine": info,
            "command": "python -m bench" + (" --quick" if args.quick else ""),
            "seconds": {"total": total, **seconds},
            "rows": [r.as_json() for r in rows],
            "details": details,
        },
    )
    print(f"written to {out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a ~20-second smoke run (small sizes; timings not asserted)",
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results.json"),
        help="where to write the JSON (default bench/results.json)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="rounds of every interleaved case (default: 2, --quick: 1)",
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated cases to run: {', '.join(CASES)}"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd deprecation chatter
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
