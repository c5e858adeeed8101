"""Case 1: ack latency of ``xenocept run --http`` vs a bare Bolt app, same requests.

The mix (one quarter each): ``/xenocept list`` (answered from the database in the ack),
the "Send to email" message shortcut (ack, then the modal is built and views.open
called), the send modal's submission (validated and queued in one transaction, then
acked) and a 📧 ``reaction_added`` event (queued before its ack); the bot's outbox worker
then really delivers the submissions and reactions to the iCloud-like server, during the
run. Each round's CPU is read from /proc for the server and, for the bot, its worker.

After the rounds at 50 in flight, one round one request at a time, started just after a
burst of queued sends, so that the outbox delivers throughout it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import data
from bench.config import Config
from bench.procs import ServerChild, bare_server, bot_server, run_child
from bench.setup import prepare_database
from bench.stats import Row, median, percentile
from bench.world import SIGNING_SECRET, World
from bot import ids
from bot.crypto import new_key
from tests.support.slack_requests import SlackRequests

KINDS = ("command", "shortcut", "submission", "reaction")
REACTED_CHANNEL = "C000001"
REQUESTERS = [person.user_id for person in data.people()]


@dataclass
class OpenModal:
    """A send modal the bot opened (at the stand-in) for ``user``: what a submit sends back."""

    user: str
    view: dict[str, Any]


def shortcut_message(n: int) -> dict[str, Any]:
    return {
        "type": "message",
        "user": "U0001",
        "ts": f"1700000{n:03d}.{n % 1_000_000:06d}",
        "text": f"*Deploy* of build {n} is done, see <https://example.com/{n}|the log>",
        "team": data.TEAM_ID,
    }


async def open_modals(world: World, server: ServerChild, count: int) -> list[OpenModal]:
    """``count`` send modals opened by the bot through real "Send to email" shortcuts.

    The bot makes the draft rows itself, as in production; each modal's submit is then one
    new delivery (a modal is submitted once: the bot dedupes on its view id and hash).
    """
    signer = SlackRequests(SIGNING_SECRET)
    world.forget_calls()
    users = [REQUESTERS[n % len(REQUESTERS)] for n in range(count)]
    gate = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> None:
            signed = signer.interactivity(
                signer.message_shortcut(
                    user_id=users[n],
                    callback_id=ids.SHORTCUT_SEND_TO_EMAIL,
                    channel_id="C000001",
                    channel_name="general",
                    message=shortcut_message(n),
                    response_url=world.slack.response_url(f"o{n}"),
                    trigger_id=f"open.{n}",
                )
            )
            async with (
                gate,
                http.post(
                    server.url, data=signed.body.encode(), headers=signed.headers
                ) as response,
            ):
                await response.read()
                assert response.status == 200, response.status

        await asyncio.gather(*(one(n) for n in range(count)))
    # Every shortcut opens one modal (after its ack); match them by each call's trigger id.
    async with asyncio.timeout(60):
        while len(opened := world.slack.calls_to("views.open")) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    views = [v for v in world.slack.views.values() if v.get("callback_id") == ids.VIEW_SEND_FORM]
    assert len(opened) == len(views) == count, (len(opened), len(views), count)
    modals = [
        OpenModal(users[int(str(call.params["trigger_id"]).split(".")[1])], view)
        for call, view in zip(opened, views, strict=True)
    ]
    world.forget_calls()
    return modals


def build_requests(
    count: int,
    *,
    round_no: int,
    world: World,
    modals: list[OpenModal],
    kinds: tuple[str, ...] = KINDS,
) -> list[dict[str, Any]]:
    """``count`` freshly signed requests, the kinds interleaved."""
    signer = SlackRequests(SIGNING_SECRET)
    requests = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        user = REQUESTERS[n % len(REQUESTERS)]
        if kind == "command":
            signed = signer.slash_command(
                user_id=user, text="list", response_url=world.slack.response_url(f"c{n}")
            )
        elif kind == "shortcut":
            signed = signer.interactivity(
                signer.message_shortcut(
                    user_id=user,
                    callback_id=ids.SHORTCUT_SEND_TO_EMAIL,
                    channel_id="C000001",
                    channel_name="general",
                    message=shortcut_message(n),
                    response_url=world.slack.response_url(f"s{n}"),
                    trigger_id=f"{round_no}.{n}.trigger",
                )
            )
        elif kind == "reaction":
            # A message of its own, which the worker reads and delivers (one reaction
            # per message: a second one within a day sends nothing).
            ts = f"{1_710_000_000 + round_no * 100_000 + n}.000100"
            world.slack.add_thread(REACTED_CHANNEL, [reacted_message(ts, n)])
            signed = signer.event(
                signer.reaction_added(
                    user_id=user, reaction="email", channel_id=REACTED_CHANNEL, ts=ts
                ),
                event_id=f"Ev{round_no}x{n}",
            )
        else:
            modal = modals.pop()
            destination = _destination_option(modal.view)
            signed = signer.interactivity(
                signer.view_submission(
                    user_id=modal.user, view=modal.view, values=send_values(destination)
                )
            )
        requests.append({"kind": kind, "body": signed.body, "headers": signed.headers})
    return requests


def reacted_message(ts: str, n: int) -> dict[str, Any]:
    return {
        "type": "message",
        "user": "U0001",
        "ts": ts,
        "text": f"Release notes for build {n}: *all green*, see <https://example.com/{n}|CI>",
        "team": data.TEAM_ID,
    }


def _destination_option(view: dict[str, Any]) -> str:
    """The destination the modal offers first (each bench user has exactly one)."""
    for block in view.get("blocks", []):
        if block.get("block_id") == ids.BLOCK_SEND_DESTINATION:
            element = block["element"]
            option = element.get("initial_option") or element["options"][0]
            return str(option["value"])
    raise AssertionError("the send modal has no destination select")


def send_values(destination_id: str, scope: str = "message") -> dict[str, dict[str, Any]]:
    def select(value: str) -> dict[str, Any]:
        return {
            ids.VALUE: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
            }
        }

    def text(value: str | None) -> dict[str, Any]:
        return {ids.VALUE: {"type": "plain_text_input", "value": value}}

    return {
        ids.BLOCK_SEND_DESTINATION: select(destination_id),
        ids.BLOCK_SEND_SCOPE: select(scope),
        ids.BLOCK_SEND_SUBJECT: text("#general: Deploy of build is done"),
        ids.BLOCK_SEND_NOTE: text(None),
    }


def warmup_requests(world: World) -> list[dict[str, Any]]:
    signer = SlackRequests(SIGNING_SECRET)
    return [
        {"kind": "warmup", "headers": s.headers, "body": s.body}
        for s in (
            signer.slash_command(
                user_id=REQUESTERS[n % len(REQUESTERS)],
                text="help",
                response_url=world.slack.response_url("w"),
            )
            for n in range(100)
        )
    ]


@dataclass
class AppRun:
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    by_kind_p99: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    cpu_ms: list[float] = field(default_factory=list)  # the server's CPU per request
    worker_cpu_ms: list[float] = field(default_factory=list)  # its children's, per request
    serial_p50: list[float] = field(default_factory=list)
    serial_p99: list[float] = field(default_factory=list)
    serial_by_kind_p99: dict[str, list[float]] = field(default_factory=dict)
    serial_delivering: list[bool] = field(default_factory=list)  # sends arrived after it


async def run(world: World, folder: Path, config: Config) -> tuple[list[Row], dict[str, Any]]:
    secret_key = new_key()
    database = folder / "ack.db"
    await prepare_database(
        database, secret_key=secret_key, users=REQUESTERS, smtp_port=world.smtp.submission_port
    )
    env = world.child_env(database, secret_key)
    servers: dict[str, ServerChild] = {"ours": bot_server(env), "bare": bare_server(env)}
    runs = {name: AppRun() for name in servers}
    warm = min(150, config.ack_requests)
    per_kind = -(-config.ack_requests // len(KINDS))
    serial_submissions = config.ack_background_sends + -(-config.ack_serial_requests // 4)
    try:
        started = time.perf_counter()
        for server in servers.values():
            await server.start()
        # Modals for every submission ours will get; the bare app gets the same bodies.
        modals = await open_modals(
            world,
            servers["ours"],
            config.ack_rounds * per_kind + -(-warm // len(KINDS)) + serial_submissions,
        )
        plan = [build_requests(warm, round_no=99, world=world, modals=modals)]
        plan += [
            build_requests(config.ack_requests, round_no=r, world=world, modals=modals)
            for r in range(config.ack_rounds)
        ]
        background = build_requests(
            config.ack_background_sends,
            round_no=97,
            world=world,
            modals=modals,
            kinds=("submission",),
        )
        serial = build_requests(config.ack_serial_requests, round_no=98, world=world, modals=modals)
        _progress(f"servers up and {len(plan) - 1} rounds of requests ready", started)
        # One mixed warm-up round each (code paths, caches, Bolt's auth.test), not recorded.
        for name, server in servers.items():
            await _fire(world, server, config, _resigned(plan[0]), expect_deliveries=name == "ours")
        _progress("warm-up done", started)
        for round_no in range(config.ack_rounds):
            order = list(servers) if round_no % 2 == 0 else list(reversed(servers))
            for name in order:
                result = await _fire(
                    world,
                    servers[name],
                    config,
                    _resigned(plan[round_no + 1]),
                    expect_deliveries=name == "ours",
                )
                _record(runs[name], result)
                print(
                    f"bench: ack round {round_no} {name}: p99 {runs[name].p99[-1]:.1f} ms, "
                    f"{runs[name].rate[-1]:.0f} req/s, CPU {runs[name].cpu_ms[-1]:.2f} ms/req"
                    + (
                        f", outbox drained in {result['drain_seconds']:.1f} s"
                        if "drain_seconds" in result
                        else ""
                    ),
                    file=sys.stderr,
                    flush=True,
                )
        for name, server in servers.items():
            result = await _fire(
                world,
                server,
                config,
                _resigned(serial),
                expect_deliveries=name == "ours",
                concurrency=1,
                before=_resigned(background),
            )
            _record_serial(runs[name], result)
            print(
                f"bench: ack one at a time {name}: p99 {runs[name].serial_p99[-1]:.1f} ms"
                + (", deliveries ran throughout" if result.get("delivering_after") else ""),
                file=sys.stderr,
                flush=True,
            )
    finally:
        for server in servers.values():
            await server.stop()
    return _rows(runs, config), {name: vars(r) for name, r in runs.items()}


def _progress(what: str, since: float) -> None:
    print(f"bench: ack {what} ({time.perf_counter() - since:.1f} s)", file=sys.stderr, flush=True)


def _resigned(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same bodies with a fresh timestamp and signature (Slack refuses > 5 min old)."""
    signer = SlackRequests(SIGNING_SECRET)
    fresh = []
    for request in requests:
        signed = signer.sign(request["body"], request["headers"]["Content-Type"])
        fresh.append({**request, "headers": signed.headers})
    return fresh


async def _fire(
    world: World,
    server: ServerChild,
    config: Config,
    requests: list[dict[str, Any]],
    *,
    expect_deliveries: bool,
    concurrency: int | None = None,
    before: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One measured round; ``before``: requests sent first at 50 in flight, not recorded
    (for the serial round: the sends the outbox delivers while it runs)."""
    world.smtp.reset()
    cpu: dict[str, tuple[float, float]] = {}

    def at_go() -> None:
        cpu["go"] = server.cpu_seconds()

    result = await run_child(
        "loadgen",
        {
            "url": server.url,
            "concurrency": concurrency or config.ack_concurrency,
            "warmup_concurrency": config.ack_concurrency,
            "requests": requests,
            "warmup": before if before is not None else warmup_requests(world),
        },
        env=world.plain_env(),
        on_go=at_go,
    )
    queued = sum(1 for r in [*requests, *(before or [])] if r["kind"] in QUEUED_KINDS)
    result["delivering_after"] = expect_deliveries and len(world.smtp.arrivals) < queued
    if expect_deliveries:
        # Let the outbox finish this round's sends before the next measurement starts.
        drained = time.perf_counter()
        await world.smtp.wait_for_count(queued, timeout=300)
        await asyncio.sleep(0.3)
        result["drain_seconds"] = time.perf_counter() - drained
    end = server.cpu_seconds()
    result["cpu_ms_per_request"] = (end[0] - cpu["go"][0]) * 1000 / len(requests)
    result["worker_cpu_ms_per_request"] = (end[1] - cpu["go"][1]) * 1000 / len(requests)
    world.forget_calls()
    return result


QUEUED_KINDS = ("submission", "reaction")  # each one email the bot's outbox delivers


def _record(run: AppRun, result: dict[str, Any]) -> None:
    latencies: dict[str, list[float]] = result["latencies_ms"]
    every = [value for values in latencies.values() for value in values]
    run.p50.append(percentile(every, 50))
    run.p99.append(percentile(every, 99))
    run.rate.append(len(every) / result["seconds"])
    run.cpu_ms.append(result["cpu_ms_per_request"])
    run.worker_cpu_ms.append(result["worker_cpu_ms_per_request"])
    for kind, values in latencies.items():
        run.by_kind_p99.setdefault(kind, []).append(percentile(values, 99))
    for key, count in result["statuses"].items():
        run.statuses[key] = run.statuses.get(key, 0) + count


def _record_serial(run: AppRun, result: dict[str, Any]) -> None:
    latencies: dict[str, list[float]] = result["latencies_ms"]
    every = [value for values in latencies.values() for value in values]
    run.serial_p50.append(percentile(every, 50))
    run.serial_p99.append(percentile(every, 99))
    run.serial_delivering.append(bool(result["delivering_after"]))
    for kind, values in latencies.items():
        run.serial_by_kind_p99.setdefault(kind, []).append(percentile(values, 99))
    for key, count in result["statuses"].items():
        run.statuses[key] = run.statuses.get(key, 0) + count


def _rows(runs: dict[str, AppRun], config: Config) -> list[Row]:
    ours, bare = runs["ours"], runs["bare"]
    case = f"1 Ack, {config.ack_requests:,} req @{config.ack_concurrency}"
    bad = {k: v for k, v in ours.statuses.items() if not k.endswith(":200")}
    rows = [
        Row(
            case,
            "p50",
            "ms",
            median(ours.p50),
            "bare Bolt AsyncApp",
            median(bare.p50),
            rounds=ours.p50,
            theirs_rounds=bare.p50,
        ),
        _within(
            Row(
                case,
                "p99, all kinds",
                "ms",
                median(ours.p99),
                "bare Bolt AsyncApp",
                median(bare.p99),
                rounds=ours.p99,
                theirs_rounds=bare.p99,
                note=f"non-200: {bad}" if bad else "",
            ),
            4.0,
        ),
    ]
    for kind in KINDS:
        mine, theirs = ours.by_kind_p99.get(kind, []), bare.by_kind_p99.get(kind, [])
        rows.append(
            _within(
                Row(
                    case,
                    f"p99, {kind}",
                    "ms",
                    median(mine),
                    "bare Bolt AsyncApp",
                    median(theirs),
                    rounds=mine,
                    theirs_rounds=theirs,
                ),
                4.0,
            )
        )
    rows.append(
        _within(
            Row(
                case,
                "CPU per request (server process)",
                "ms",
                median(ours.cpu_ms),
                "bare Bolt AsyncApp",
                median(bare.cpu_ms),
                rounds=ours.cpu_ms,
                theirs_rounds=bare.cpu_ms,
                note=f"ours: + {median(ours.worker_cpu_ms):.2f} ms in the outbox worker",
            ),
            4.0,
        )
    )
    rows.append(
        Row(
            case,
            "throughput",
            "req/s",
            median(ours.rate),
            "bare Bolt AsyncApp",
            median(bare.rate),
            rounds=ours.rate,
            theirs_rounds=bare.rate,
        )
    )
    serial_case = f"1 Ack, {config.ack_serial_requests:,} req @1, sends delivering"
    kinds = ", ".join(f"{k} {median(v):.1f}" for k, v in sorted(ours.serial_by_kind_p99.items()))
    rows.append(
        _within(
            Row(
                serial_case,
                "p99",
                "ms",
                median(ours.serial_p99),
                "bare Bolt AsyncApp",
                median(bare.serial_p99),
                rounds=ours.serial_p99,
                theirs_rounds=bare.serial_p99,
                note=f"ours p99 by kind (ms): {kinds}; deliveries ran throughout: "
                + ("yes" if all(ours.serial_delivering) else "NO"),
            ),
            1.5,
        )
    )
    return rows


def _within(row: Row, times: float) -> Row:
    """The row with the target "≤ times× bare" and whether it is met."""
    ratio = row.ratio
    row.target = f"≤ {times:g}× bare"
    row.met = ratio is not None and ratio <= times
    return row
