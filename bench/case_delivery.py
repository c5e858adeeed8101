"""Case 2: sessions delivered per second to the iCloud-like server (STARTTLS + AUTH).

Three clients, each in its own process, one at a time, order rotated per round:

* ours: the real Outbox of the real app; N sessions (threads served by the Slack
  stand-in) queued for one destination. Per session it posts and updates the status
  message, reads the thread, looks up names and the permalink, renders and sends.
* plain: an aiosmtplib loop sending the same N sessions, rendered beforehand by the
  same renderer (the bytes, via ``sendmail``), over one connection: what the SMTP
  exchange itself costs (the floor).
* apprise: Apprise's email plugin (``mailtos://``) sending the same N HTML bodies, one
  ``notify()`` per session as a user of it would.

Throughput is measured at the server: from the moment the client says GO to the arrival of
the N-th message, on the orchestrator's clock.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from bench.child import cpu_seconds
from bench.config import Config
from bench.procs import run_child
from bench.setup import remove_database
from bench.stats import Row, median
from bench.world import World
from bot.crypto import new_key

CLIENTS = ("ours", "plain", "apprise")


async def run(world: World, folder: Path, config: Config) -> tuple[list[Row], dict[str, Any]]:
    world.add_threads(0, config.deliveries, config.thread_size)
    clients = [c for c in CLIENTS if c != "apprise" or importlib.util.find_spec("apprise")]
    prebuilt = folder / "prebuilt.pickle"
    await run_child(
        "prebuild",
        {"first": 0, "count": config.deliveries, "size": config.thread_size, "file": str(prebuilt)},
        world.plain_env(),
    )
    rates: dict[str, list[float]] = {c: [] for c in clients}
    details: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    for round_no in range(config.delivery_rounds):
        shift = round_no % len(clients)
        for client in clients[shift:] + clients[:shift]:
            outcome = await _one(world, folder, config, client, round_no, prebuilt)
            rates[client].append(outcome["msgs_per_s"])
            details[client].append(outcome)
    return _rows(rates, details, config), {"rates": rates, "runs": details}


async def _one(
    world: World, folder: Path, config: Config, client: str, round_no: int, prebuilt: Path
) -> dict[str, Any]:
    world.smtp.reset()
    world.forget_calls()
    started: list[tuple[float, float]] = []
    job: dict[str, Any] = {
        "first": 0,
        "count": config.deliveries,
        "size": config.thread_size,
        "port": world.smtp.submission_port,
        "file": str(prebuilt),
    }
    if client == "ours":
        secret_key = new_key()
        database = folder / f"deliver-{round_no}.db"
        job.update(database=str(database), secret_key=secret_key)
        env = world.child_env(database, secret_key)
    else:
        env = world.plain_env()
    result = await run_child(
        f"deliver-{client}",
        job,
        env,
        on_go=lambda: started.append((time.perf_counter(), cpu_seconds())),
    )
    last = await world.smtp.wait_for_count(config.deliveries, timeout=600)
    world_cpu = cpu_seconds() - started[0][1]  # includes waiting for the child to exit
    seconds = last - started[0][0]
    slack_calls = len(world.slack.calls)
    outcome = {
        **result,
        "client": client,
        "round": round_no,
        "server_seconds": seconds,
        "msgs_per_s": config.deliveries / seconds,
        "client_cpu_ms_per_message": 1000 * result["cpu_seconds"] / config.deliveries,
        "world_cpu_ms_per_message": 1000 * world_cpu / config.deliveries,
        "avg_bytes": sum(world.smtp.sizes) / max(1, len(world.smtp.sizes)),
        "slack_calls_per_message": slack_calls / config.deliveries,
    }
    if client == "ours":
        remove_database(Path(job["database"]))
    return outcome


def _rows(
    rates: dict[str, list[float]], details: dict[str, list[dict[str, Any]]], config: Config
) -> list[Row]:
    case = f"2 Delivery, {config.deliveries:,} × {config.thread_size}-msg threads"
    ours = median(rates["ours"])
    calls = median([d["slack_calls_per_message"] for d in details["ours"]])
    sizes = {c: median([d["avg_bytes"] for d in runs]) / 1000 for c, runs in details.items()}
    failed = sum(int(d.get("failed", 0)) for runs in details.values() for d in runs)
    rows = [
        Row(
            case,
            "throughput",
            "msg/s",
            ours,
            "plain aiosmtplib loop, 1 connection",
            median(rates["plain"]),
            target="≥ 0.4× plain",
            met=ours >= 0.4 * median(rates["plain"]),
            rounds=rates["ours"],
            theirs_rounds=rates["plain"],
            note=f"ours makes {calls:.1f} Slack calls per session; avg email "
            f"{sizes['ours']:.0f} kB vs {sizes['plain']:.0f} kB"
            + (f"; {failed} failed sends" if failed else ""),
        )
    ]
    if "apprise" in rates:
        theirs = median(rates["apprise"])
        rows.append(
            Row(
                case,
                "throughput",
                "msg/s",
                ours,
                "Apprise email plugin (mailtos://)",
                theirs,
                target="≥ 1.0× Apprise",
                met=ours >= theirs,
                rounds=rates["ours"],
                theirs_rounds=rates["apprise"],
                note=f"Apprise {details['apprise'][0].get('version')}, its default "
                "5.5 s throttle between notifications turned off; avg email "
                f"{sizes['apprise']:.0f} kB",
            )
        )
    else:
        rows.append(
            Row(
                case,
                "throughput",
                "msg/s",
                ours,
                "Apprise (not installed)",
                note="pip install apprise to compare",
            )
        )
    return rows
