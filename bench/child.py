"""One-shot runners, each in its own process: ``python -m bench.child KIND`` (config on stdin).

Kinds: ``loadgen`` (signed requests at N concurrent), ``deliver-ours`` (the real Outbox),
``deliver-plain`` (an aiosmtplib loop over one connection), ``deliver-apprise`` (Apprise's
email plugin), ``render`` (only bot.render.render_email, for time and peak RSS), and
``storage`` (the repositories at size).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ------------------------------------------------------------------ ack latency load


async def loadgen(config: Json) -> Json:
    import aiohttp

    url: str = config["url"]
    concurrency: int = config["concurrency"]
    connector = aiohttp.TCPConnector(limit=concurrency)
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    async with aiohttp.ClientSession(connector=connector) as http:

        async def fire(requests: list[Json], record: bool) -> None:
            queue: asyncio.Queue[Json] = asyncio.Queue()
            for request in requests:
                queue.put_nowait(request)

            async def worker() -> None:
                while not queue.empty():
                    request = queue.get_nowait()
                    started = time.perf_counter()
                    async with http.post(url, data=request["body"].encode(),
                                         headers=request["headers"]) as response:
                        await response.read()
                    elapsed = (time.perf_counter() - started) * 1000
                    if record:
                        latencies[request["kind"]].append(elapsed)
                        statuses[f"{request['kind']}:{response.status}"] += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await fire(config["warmup"], record=False)
        go()
        started = time.perf_counter()
        await fire(config["requests"], record=True)
        seconds = time.perf_counter() - started
    return {"latencies_ms": latencies, "statuses": dict(statuses), "seconds": seconds}


# ------------------------------------------------------------------ delivery throughput


def prebuilt_messages(config: Json) -> list[EmailMessage]:
    """The same sessions rendered by the product's renderer, before any timing."""
    from bench import data
    from bot.render import render_email

    messages = []
    for index in range(config["first"], config["first"] + config["count"]):
        raw = data.thread(index, config["size"])
        rendered = render_email(
            conversation=data.conversation(raw, index=index, with_files=False), note=None,
            subject=f"#{data.channel_name(index)}: bench", sender=data.SENDER_LOGIN,
            recipients=[data.RECIPIENT], message_id=f"<bench.{index}@icloud.com>",
            references=(), sent_at=datetime.now(UTC))
        messages.append(rendered.message)
    return messages


async def deliver_plain(config: Json) -> Json:
    import ssl

    import aiosmtplib

    from bench import data

    messages = prebuilt_messages(config)
    go()
    started, cpu = time.perf_counter(), cpu_seconds()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=config["port"], start_tls=True,
                             tls_context=ssl.create_default_context(), timeout=30)
    await client.connect()
    await client.login(data.SENDER_LOGIN, data.SENDER_ASP)
    for message in messages:
        await client.send_message(message, sender=data.SENDER_LOGIN,
                                  recipients=[data.RECIPIENT])
    await client.quit()
    return {"sent": len(messages), "seconds": time.perf_counter() - started,
            "cpu_seconds": cpu_seconds() - cpu}


def deliver_apprise(config: Json) -> Json:
    from urllib.parse import quote

    import apprise

    from bench import data

    messages = prebuilt_messages(config)
    bodies = []
    for message in messages:
        html_part = message.get_body(("html",))
        assert html_part is not None
        bodies.append((str(message["Subject"]), html_part.get_content()))
    url = (f"mailtos://{quote(data.SENDER_LOGIN, safe='')}:{data.SENDER_ASP}@127.0.0.1:"
           f"{config['port']}?smtp=127.0.0.1&mode=starttls&from={data.SENDER_LOGIN}"
           f"&to={data.RECIPIENT}&format=html")
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise RuntimeError("Apprise refused the mailtos:// URL")
    for plugin in notifier:
        # Apprise sleeps 5.5 s between two notifications of one service by default
        # (request_rate_per_sec); measured here without it, see BENCHMARKS.md.
        plugin.request_rate_per_sec = 0
    go()
    started, cpu = time.perf_counter(), cpu_seconds()
    failed = 0
    for subject, body in bodies:
        if not notifier.notify(body=body, title=subject, body_format=apprise.NotifyFormat.HTML):
            failed += 1
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    default_throttle = apprise.plugins.NotifyBase.request_rate_per_sec
    return {"sent": len(bodies) - failed, "failed": failed, "seconds": seconds, "cpu_seconds": cpu,
            "default_throttle_s": default_throttle, "version": apprise.__version__}


async def deliver_ours(config: Json) -> Json:
    """The real Outbox of the real app, sessions queued for one destination."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from bench import data
    from bench.setup import prepare_database
    from bot.app import create_app
    from bot.delivery.session_compose import SendRequest
    from bot.destinations import message_id_for
    from bot.settings import load_settings
    from storage.db import create_tables, transaction
    from storage.models import Delivery, DeliveryKind, DeliveryStatus, new_id

    settings = load_settings()
    database = config["database"]
    [destination_id] = (await prepare_database(
        Path(database), secret_key=config["secret_key"], users=[data.SENDER],
        smtp_port=config["port"])).values()
    app = create_app(settings)
    rows = []
    for index in range(config["first"], config["first"] + config["count"]):
        ts = data.thread(index, 1)[0]["ts"]
        request = SendRequest(channel_id=data.channel_id(index),
                              channel_name=data.channel_name(index), message_ts=ts,
                              thread_ts=ts, scope="thread",
                              subject=f"#{data.channel_name(index)}: bench", note=None)
        delivery_id = new_id()
        rows.append(Delivery(
            id=delivery_id, team_id=data.TEAM_ID, user_id=data.SENDER,
            destination_id=destination_id, destination_name="iCloud",
            kind=DeliveryKind.SESSION, request_json=request.dump(),
            summary=f"Thread from #{data.channel_name(index)}",
            message_id=message_id_for(delivery_id, data.SENDER_LOGIN)))
    async with transaction(app.services.sessions) as session:
        session.add_all(rows)
    await create_tables(app.services.engine)  # start-up work (migrations) before the clock
    go()
    started, cpu = time.perf_counter(), cpu_seconds()
    await app.start()
    done_query = select(func.count()).select_from(Delivery).where(
        col(Delivery.status).in_([DeliveryStatus.SENT, DeliveryStatus.FAILED]))
    while True:
        async with transaction(app.services.sessions) as session:
            done = (await session.exec(done_query)).one()
        if done >= len(rows):
            break
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    async with transaction(app.services.sessions) as session:
        failed = (await session.exec(select(Delivery.last_error).where(
            Delivery.status == DeliveryStatus.FAILED))).all()
    await app.stop()
    return {"sent": len(rows) - len(failed), "failed": len(failed), "seconds": seconds,
            "cpu_seconds": cpu, "errors": sorted(set(str(e) for e in failed))[:3]}


# ------------------------------------------------------------------ rendering


def render(config: Json) -> Json:
    from bench import data
    from bot.render import render_email

    raw = data.thread(0, config["size"])
    conversation = data.conversation(raw, index=0)
    del raw
    before = peak_rss_mb()
    go()
    started = time.perf_counter()
    rendered = render_email(
        conversation=conversation, note="Forwarded for the bench.",
        subject="#bench: a very long thread", sender=data.SENDER_LOGIN,
        recipients=[data.RECIPIENT], message_id="<bench.render@icloud.com>",
        references=["<thread.C000000.1700000000-000000.T111@xenocept.invalid>"],
        sent_at=datetime.now(UTC))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": before,
            "email_bytes": rendered.size, "messages": len(conversation.messages),
            "trimmed": rendered.trimmed_messages}


# ------------------------------------------------------------------ storage at size


async def storage(config: Json) -> Json:
    from bench.storage_at_size import measure

    return await measure(config)


RUNNERS: dict[str, Callable[[Json], Awaitable[Json] | Json]] = {
    "loadgen": loadgen,
    "deliver-ours": deliver_ours,
    "deliver-plain": deliver_plain,
    "deliver-apprise": deliver_apprise,
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
