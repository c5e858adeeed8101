"""Case 4: the owner-scoped repositories on a big SQLite file, small table vs big table.

Rows are bulk-inserted with SQLAlchemy Core ``executemany`` (the product's own column
types do the encoding), then the product's repository functions are timed through the
product's async engine, each call in its own transaction as a listener makes it.
The same users keep the same number of rows at both sizes (10 destinations and 100
deliveries each), so any growth in time is the table's size, nothing else.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bench import data
from bench.setup import remove_database
from bench.stats import percentile
from bot.crypto import Sealed, SecretBox, new_key, parse_key
from bot.destinations import password_context
from storage import deliveries, destinations
from storage.db import create_engine, create_tables, session_factory, transaction
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Destination,
    Owner,
    ScreenshotMode,
    Security,
)

Json = dict[str, Any]
CHUNK = 20_000
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def file_size(path: Path) -> int:
    return path.stat().st_size


def _user(index: int) -> str:
    return f"U{index:08d}"


def _destination_rows(box: SecretBox, users: range, per_user: int) -> Iterator[Json]:
    sealed_plain = data.SENDER_ASP
    for user_index in users:
        for n in range(per_user):
            destination_id = f"d{user_index:08d}{n:04d}"
            sealed = box.seal(sealed_plain, context=password_context(destination_id))
            yield {
                "id": destination_id, "team_id": data.TEAM_ID, "user_id": _user(user_index),
                "name": f"Box {n}", "name_key": f"box {n}", "provider": "icloud",
                "smtp_host": "smtp.mail.me.com", "smtp_port": 587,
                "security": Security.STARTTLS, "username": f"u{user_index}@icloud.com",
                "from_address": f"u{user_index}@icloud.com",
                "to_addresses": f"u{user_index}@icloud.com",
                "screenshot_mode": ScreenshotMode.INLINE, "secret_key_id": sealed.key_id,
                "secret_ciphertext": sealed.ciphertext, "created_at": NOW, "updated_at": NOW,
                "last_test_at": NOW, "last_test_ok": True, "last_test_summary": "passed",
                "last_used_at": None,
            }


def _delivery_rows(rng: random.Random, users: range, per_user: int,
                   destinations_per_user: int) -> Iterator[Json]:
    for user_index in users:
        for n in range(per_user):
            created = NOW - timedelta(seconds=rng.randrange(30 * 86_400))
            failed = rng.random() < 0.05
            row_id = f"{user_index:016x}{n:016x}"  # unique like uuid4().hex, cheaper to make
            yield {
                "id": row_id, "team_id": data.TEAM_ID, "user_id": _user(user_index),
                "destination_id": f"d{user_index:08d}{rng.randrange(destinations_per_user):04d}",
                "destination_name": "Box", "kind": DeliveryKind.SESSION,
                "status": DeliveryStatus.FAILED if failed else DeliveryStatus.SENT,
                "request_json": "{}", "summary": "20 messages from #incidents",
                "message_id": f"<xenocept.{row_id}@icloud.com>", "dedupe_key": None,
                "attempts": 1, "next_attempt_at": created, "claimed_by": None,
                "lease_until": None, "status_channel": "DUSER", "status_ts": "1.0",
                "last_error": "Login failed: 535" if failed else None, "created_at": created,
                "finished_at": created + timedelta(seconds=2), "duration_ms": 1800,
            }


def _bulk(engine: sqlalchemy.Engine, table: Any, rows: Iterator[Json]) -> int:
    count = 0
    with engine.begin() as connection:
        chunk: list[Json] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                connection.execute(sqlalchemy.insert(table), chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            connection.execute(sqlalchemy.insert(table), chunk)
            count += len(chunk)
    return count


def grow(path: Path, box: SecretBox, rng: random.Random, users: range, *,
         destinations_per_user: int, deliveries_per_user: int) -> float:
    """Add ``users`` with their rows; returns seconds spent inserting."""
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    started = time.perf_counter()

    @sqlalchemy.event.listens_for(engine, "connect")
    def bulk_load(dbapi_connection: Any, _record: Any) -> None:
        # A bulk load for the bench only: no fsync, a big page cache. The product's own
        # engine (WAL, busy timeout, secure_delete) does every timed query.
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA cache_size=-262144")

    tables = SQLModel.metadata.tables
    _bulk(engine, tables[str(Destination.__tablename__)],
          _destination_rows(box, users, destinations_per_user))
    _bulk(engine, tables[str(Delivery.__tablename__)],
          _delivery_rows(rng, users, deliveries_per_user, destinations_per_user))
    engine.dispose()
    return time.perf_counter() - started


async def _time_op(samples: int, op: Callable[[AsyncSession, Owner], Awaitable[Any]],
                   sessions: Any, users: int, rng: random.Random) -> list[float]:
    times = []
    for _ in range(samples):
        owner = Owner(data.TEAM_ID, _user(rng.randrange(users)))
        started = time.perf_counter()
        async with transaction(sessions) as session:
            await op(session, owner)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _measure_size(path: Path, box: SecretBox, users: int, samples: int,
                        rng: random.Random) -> dict[str, Json]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    hour_ago = NOW - timedelta(hours=1)

    async def list_destinations(session: AsyncSession, owner: Owner) -> Any:
        found = await destinations.list_destinations(session=session, owner=owner)
        assert found, owner
        return found

    async def history(session: AsyncSession, owner: Owner) -> Any:
        found = await deliveries.recent_deliveries(session=session, owner=owner, limit=20)
        assert len(found) == 20, owner
        return found

    async def count_since(session: AsyncSession, owner: Owner) -> Any:
        return await deliveries.count_since(session=session, owner=owner, since=hour_ago)

    async def last_used(session: AsyncSession, owner: Owner) -> Any:
        return await deliveries.last_used_destination_id(session=session, owner=owner)

    async def claim_due(session: AsyncSession, owner: Owner) -> Any:
        return await deliveries.claim_due(session=session, worker_id="bench", now=NOW,
                                          lease=timedelta(minutes=10), limit=50)

    ops: dict[str, Callable[[AsyncSession, Owner], Awaitable[Any]]] = {
        "list_destinations": list_destinations, "recent_deliveries": history,
        "count_since": count_since, "last_used_destination_id": last_used,
        "claim_due": claim_due,
    }
    result: dict[str, Json] = {}
    try:
        for name, op in ops.items():
            await _time_op(20, op, sessions, users, rng)  # warm the page cache
            times = await _time_op(samples, op, sessions, users, rng)
            result[name] = {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}
        async with transaction(sessions) as session:
            one = await destinations.get_destination(
                session=session, owner=Owner(data.TEAM_ID, _user(0)),
                destination_id=f"d{0:08d}{0:04d}")
        sealed = Sealed(one.secret_key_id, one.secret_ciphertext)
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            box.open(sealed, context=password_context(one.id), label=one.name)
            times.append((time.perf_counter() - started) * 1000)
        result["secretbox_open"] = {"p50_ms": percentile(times, 50),
                                    "p99_ms": percentile(times, 99)}
    finally:
        await engine.dispose()
    return result


async def measure(config: Json) -> Json:
    """config: folder, small_users, big_users, destinations_per_user, deliveries_per_user,
    samples. Builds the small database, measures, grows it to the big one, measures."""
    path = Path(config["folder"]) / "storage-at-size.db"
    remove_database(path)
    box = SecretBox([parse_key(new_key(), source="bench")])
    rng = random.Random(4)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await create_tables(engine)
    await engine.dispose()
    per_dest, per_delivery = config["destinations_per_user"], config["deliveries_per_user"]
    small, big = config["small_users"], config["big_users"]
    sizes: dict[str, Json] = {}
    insert_seconds = grow(path, box, rng, range(small), destinations_per_user=per_dest,
                          deliveries_per_user=per_delivery)
    sizes["small"] = {"users": small, "destinations": small * per_dest,
                      "deliveries": small * per_delivery,
                      "ops": await _measure_size(path, box, small, config["samples"], rng)}
    insert_seconds += grow(path, box, rng, range(small, big), destinations_per_user=per_dest,
                           deliveries_per_user=per_delivery)
    sizes["big"] = {"users": big, "destinations": big * per_dest,
                    "deliveries": big * per_delivery,
                    "ops": await _measure_size(path, box, big, config["samples"], rng)}
    file_mb = file_size(path) / 1e6
    remove_database(path)
    return {"sizes": sizes, "insert_seconds": insert_seconds, "file_mb": file_mb}
