"""One-shot runners, each in its own process: ``python -m bench.child KIND`` (config on stdin).

Kinds: ``loadgen`` (signed requests at N concurrent), ``deliver-ours`` (the real Outbox),
``deliver-plain`` (an aiosmtplib loop over one connection), ``deliver-apprise`` (Apprise's
email plugin), ``render`` (only bot.render.render_email, for time and peak RSS), and
``storage`` (the repositories at size).
"""

from __future__ import annotations

import asyncio
import json
import pickle
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Json = dict[str, Any]


def go() -> None:
    """Tell the orchestrator the timed part starts now."""
    print("GO", flush=True)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """ru_maxrss (KiB on Linux). NB: Linux carries it across fork+exec from the parent, so
    the render child is started through a small shell (see ``procs.run_child``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_hwm_mb() -> float | None:
    """The kernel's peak RSS of this process's own address space (Linux only)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def vm_rss_mb() -> float | None:
    """The kernel's current resident set of this process."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


# ------------------------------------------------------------------ ack latency load


async def loadgen(config: Json) -> Json:
    import aiohttp

    url: str = config["url"]
    concurrency: int = config["concurrency"]
    connector = aiohttp.TCPConnector(limit=max(concurrency, config["warmup_concurrency"]))
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    async with aiohttp.ClientSession(connector=connector) as http:

        async def fire(requests: list[Json], record: bool, concurrency: int) -> None:
            queue: asyncio.Queue[Json] = asyncio.Queue()
            for request in requests:
                queue.put_nowait(request)

            async def worker() -> None:
                while not queue.empty():
                    request = queue.get_nowait()
                    started = time.perf_counter()
                    async with http.post(
                        url, data=request["body"].encode(), headers=request["headers"]
                    ) as response:
                        await response.read()
                    elapsed = (time.perf_counter() - started) * 1000
                    if record:
                        latencies[request["kind"]].append(elapsed)
                        statuses[f"{request['kind']}:{response.status}"] += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await fire(config["warmup"], record=False, concurrency=config["warmup_concurrency"])
        go()
        started = time.perf_counter()
        await fire(config["requests"], record=True, concurrency=concurrency)
        seconds = time.perf_counter() - started
    return {"latencies_ms": latencies, "statuses": dict(statuses), "seconds": seconds}


# ------------------------------------------------------------------ delivery throughput


@dataclass(frozen=True)
class Prebuilt:
    """One session rendered ahead by the product's renderer, for the comparison clients."""

    subject: str
    html: str
    raw: bytes  # the whole message as sent (CRLF line ends)


def prebuild(config: Json) -> Json:
    """Render the sessions once (not timed) and store them for every comparison run."""
    from bench import data
    from bot.render import render_email

    built = []
    for index in range(config["first"], config["first"] + config["count"]):
        raw = data.thread(index, config["size"])
        rendered = render_email(
            conversation=data.conversation(raw, index=index, with_files=False),
            note=None,
            subject=f"#{data.channel_name(index)}: bench",
            sender=data.SENDER_LOGIN,
            recipients=[data.RECIPIENT],
            message_id=f"<bench.{index}@icloud.com>",
            references=(),
            sent_at=datetime.now(UTC),
        )
        html_part = rendered.message.get_body(("html",))
        assert html_part is not None
        built.append(
            Prebuilt(
                str(rendered.message["Subject"]),
                html_part.get_content(),
                rendered.message.as_bytes(),
            )
        )
    Path(config["file"]).write_bytes(pickle.dumps(built))
    return {"count": len(built), "bytes": sum(len(b.raw) for b in built)}


def load_prebuilt(config: Json) -> list[Prebuilt]:
    # Written a moment ago by ``prebuild`` in this same bench run, never from elsewhere.
    built: list[Prebuilt] = pickle.loads(Path(config["file"]).read_bytes())  # noqa: S301
    return built


async def deliver_plain(config: Json) -> Json:
    """The floor: the pre-built bytes over one STARTTLS + AUTH connection, back to back."""
    import ssl

    import aiosmtplib

    from bench import data

    messages = load_prebuilt(config)
    go()
    started, cpu = time.perf_counter(), cpu_seconds()
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=config["port"],
        start_tls=True,
        tls_context=ssl.create_default_context(),
        timeout=30,
    )
    await client.connect()
    await client.login(data.SENDER_LOGIN, data.SENDER_ASP)
    for message in messages:
        await client.sendmail(data.SENDER_LOGIN, [data.RECIPIENT], message.raw)
    await client.quit()
    return {
        "sent": len(messages),
        "seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds() - cpu,
    }


def deliver_apprise(config: Json) -> Json:
    """Apprise's email plugin: one ``notify()`` per session with its HTML body and subject."""
    from urllib.parse import quote

    import apprise

    from bench import data

    bodies = [(m.subject, m.html) for m in load_prebuilt(config)]
    url = (
        f"mailtos://{quote(data.SENDER_LOGIN, safe='')}:{data.SENDER_ASP}@127.0.0.1:"
        f"{config['port']}?smtp=127.0.0.1&mode=starttls&from={data.SENDER_LOGIN}"
        f"&to={data.RECIPIENT}&format=html"
    )
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise RuntimeError("Apprise refused the mailtos:// URL")
    default_throttle = 0.0
    for plugin in notifier:
        # Apprise sleeps 5.5 s between two notifications of one service by default
        # (request_rate_per_sec); measured here without it, see BENCHMARKS.md.
        default_throttle = float(plugin.request_rate_per_sec)
        plugin.request_rate_per_sec = 0
    go()
    started, cpu = time.perf_counter(), cpu_seconds()
    failed = 0
    for subject, body in bodies:
        if not notifier.notify(body=body, title=subject, body_format=apprise.NotifyFormat.HTML):
            failed += 1
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    return {
        "sent": len(bodies) - failed,
        "failed": failed,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "default_throttle_s": default_throttle,
        "version": apprise.__version__,
    }


async def deliver_ours(config: Json) -> Json:
    """The real Outbox of the real app, sessions queued for one destination."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from bench import data
    from bench.setup import prepare_database
    from bot.app import create_app
    from bot.destination_service import message_id_for
    from bot.render.request import SendRequest
    from bot.settings import load_settings
    from storage.db import create_tables, transaction
    from storage.models import Delivery, DeliveryKind, DeliveryStatus, new_id

    settings = load_settings()
    database = config["database"]
    [destination_id] = (
        await prepare_database(
            Path(database),
            secret_key=config["secret_key"],
            users=[data.SENDER],
            smtp_port=config["port"],
        )
    ).values()
    app = create_app(settings, outbox_only=True)  # as ``xenocept worker`` makes it
    rows = []
    for index in range(config["first"], config["first"] + config["count"]):
        ts = data.thread(index, 1)[0]["ts"]
        request = SendRequest(
            channel_id=data.channel_id(index),
            channel_name=data.channel_name(index),
            message_ts=ts,
            thread_ts=ts,
            scope="thread",
            subject=f"#{data.channel_name(index)}: bench",
            note=None,
        )
        delivery_id = new_id()
        rows.append(
            Delivery(
                id=delivery_id,
                team_id=data.TEAM_ID,
                user_id=data.SENDER,
                destination_id=destination_id,
                destination_name="iCloud",
                kind=DeliveryKind.SESSION,
                request_json=request.dump(),
                summary=f"Thread from #{data.channel_name(index)}",
                message_id=message_id_for(delivery_id, data.SENDER_LOGIN),
            )
        )
    async with transaction(app.services.database) as db:
        db.add_all(rows)
    await create_tables(app.services.engine)  # start-up work (migrations) before the clock
    go()
    started, cpu = time.perf_counter(), cpu_seconds()
    await app.start()
    done_query = (
        select(func.count())
        .select_from(Delivery)
        .where(col(Delivery.status).in_([DeliveryStatus.SENT, DeliveryStatus.FAILED]))
    )
    checkpoints = sorted(config.get("rss_at", []))
    rss_at: dict[str, float | None] = {}
    while True:
        async with transaction(app.services.database) as db:
            done = (await db.exec(done_query)).one()
        while checkpoints and done >= checkpoints[0]:
            rss_at[str(checkpoints.pop(0))] = vm_rss_mb()  # read within ~0.25 s of it
        if done >= len(rows):
            break
        await asyncio.sleep(0.25)  # rarely: the count shares the one database connection
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    async with transaction(app.services.database) as db:
        failed = (
            await db.exec(
                select(Delivery.last_error).where(Delivery.status == DeliveryStatus.FAILED)
            )
        ).all()
    await app.stop()
    return {
        "sent": len(rows) - len(failed),
        "failed": len(failed),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "errors": sorted(set(str(e) for e in failed))[:3],
        "rss_at_mb": rss_at,
    }


# ------------------------------------------------------------------ rendering


def render(config: Json) -> Json:
    from bench import data
    from bot.render import render_email
    from bot.render.html import prepare

    prepare()  # the templates compile at start-up, as in the bot (create_app)
    raw = data.thread(0, config["size"])
    conversation = data.conversation(raw, index=0)
    del raw
    before = peak_rss_mb()
    go()
    started = time.perf_counter()
    rendered = render_email(
        conversation=conversation,
        note="Forwarded for the bench.",
        subject="#bench: a very long thread",
        sender=data.SENDER_LOGIN,
        recipients=[data.RECIPIENT],
        message_id="<bench.render@icloud.com>",
        references=["<thread.C000000.1700000000-000000.T111@xenocept.invalid>"],
        sent_at=datetime.now(UTC),
    )
    seconds = time.perf_counter() - started
    peak, hwm = peak_rss_mb(), vm_hwm_mb()  # before the comparison adds anything
    return {
        "seconds": seconds,
        "peak_rss_mb": peak,
        "vm_hwm_mb": hwm,
        **_mistune_time([message.text for message in conversation.messages]),
        "rss_before_mb": before,
        "email_bytes": rendered.size,
        "messages": len(conversation.messages),
        "trimmed": rendered.trimmed_messages,
    }


def _mistune_time(texts: list[str]) -> Json:
    """The comparison for rendering: mistune 3, a fast pure-Python Markdown renderer,
    turning the same message texts into HTML in this process, right after ours."""
    try:
        import mistune
    except ImportError:
        return {"mistune_seconds": None, "mistune_version": None}
    markdown = mistune.create_markdown()  # its default: HTML, raw HTML escaped
    for text in texts[:200]:  # warm, as our renderer's templates are compiled beforehand
        markdown(text)
    started = time.perf_counter()
    for text in texts:
        markdown(text)
    return {
        "mistune_seconds": time.perf_counter() - started,
        "mistune_version": mistune.__version__,
    }


# ------------------------------------------------------------------ storage at size


async def storage(config: Json) -> Json:
    from bench.storage_at_size import measure

    return await measure(config)


RUNNERS: dict[str, Callable[[Json], Awaitable[Json] | Json]] = {
    "loadgen": loadgen,
    "deliver-ours": deliver_ours,
    "deliver-plain": deliver_plain,
    "deliver-apprise": deliver_apprise,
    "prebuild": prebuild,
    "render": render,
    "storage": storage,
}


def main() -> None:
    kind = sys.argv[1]
    config = json.loads(sys.stdin.read() or "{}")
    outcome = RUNNERS[kind](config)
    result = asyncio.run(outcome) if asyncio.iscoroutine(outcome) else outcome
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
