"""Case 4: the owner-scoped repositories on a big SQLite file vs a small one.

Rows are bulk-inserted with SQLAlchemy Core ``executemany`` (the product's own column
types do the encoding), then the product's repository functions are timed through the
product's async engine, each call in its own transaction as a listener makes it, on
both files in turn over several rounds. Every user has the same number of rows in both
(10 destinations and 100 deliveries), so any growth in time is the table's size.
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
from bot.destination_service import password_context
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
                "id": destination_id,
                "team_id": data.TEAM_ID,
                "user_id": _user(user_index),
                "name": f"Box {n}",
                "name_key": f"box {n}",
                "provider": "icloud",
                "smtp_host": "smtp.mail.me.com",
                "smtp_port": 587,
                "security": Security.STARTTLS,
                "username": f"u{user_index}@icloud.com",
                "from_address": f"u{user_index}@icloud.com",
                "to_addresses": f"u{user_index}@icloud.com",
                "screenshot_mode": ScreenshotMode.INLINE,
                "secret_key_id": sealed.key_id,
                "secret_ciphertext": sealed.ciphertext,
                "created_at": NOW,
                "updated_at": NOW,
                "last_test_at": NOW,
                "last_test_ok": True,
                "last_test_summary": "passed",
                "last_used_at": None,
            }


def _delivery_rows(
    rng: random.Random, users: range, per_user: int, destinations_per_user: int
) -> Iterator[Json]:
    # 20,000 distinct moments over 30 days: each is encoded once (see _bulk).
    moments = [NOW - timedelta(seconds=rng.randrange(30 * 86_400)) for _ in range(20_000)]
    for user_index in users:
        for n in range(per_user):
            created = moments[rng.randrange(len(moments))]
            failed = rng.random() < 0.05
            row_id = f"{user_index:016x}{n:016x}"  # unique like uuid4().hex, cheaper to make
            yield {
                "id": row_id,
                "team_id": data.TEAM_ID,
                "user_id": _user(user_index),
                "destination_id": f"d{user_index:08d}{rng.randrange(destinations_per_user):04d}",
                "destination_name": "Box",
                "kind": DeliveryKind.SESSION,
                "status": DeliveryStatus.FAILED if failed else DeliveryStatus.SENT,
                "request_json": "{}",
                "summary": "20 messages from #incidents",
                "message_id": f"<xenocept.{row_id}@icloud.com>",
                "dedupe_key": None,
                "attempts": 1,
                "next_attempt_at": created,
                "claimed_by": None,
                "lease_until": None,
                "status_channel": "DUSER",
                "status_ts": "1.0",
                "last_error": "Login failed: 535" if failed else None,
                "created_at": created,
                "finished_at": created,
                "duration_ms": 1800,
            }


def _bulk(engine: sqlalchemy.Engine, table: sqlalchemy.Table, rows: Iterator[Json]) -> int:
    """executemany in chunks. Values go through the product's column types (each distinct
    value encoded once), then straight to the driver: Core's per-row work is what made
    a million rows slow."""
    count = 0
    columns: list[str] = []
    processors: list[Callable[[Any], Any] | None] = []
    memo: list[dict[Any, Any]] = []
    statement = ""
    with engine.begin() as connection:
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            if not columns:
                columns = list(row)
                processors = [
                    table.c[name].type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
                    for name in columns
                ]
                memo = [{} for _ in columns]
                statement = (
                    f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({', '.join('?' for _ in columns)})"
                )  # our own names
            values = []
            for name, process, seen in zip(columns, processors, memo, strict=True):
                value = row[name]
                if process is not None and value is not None:
                    if isinstance(value, bytes):
                        value = process(value)
                    else:
                        encoded = seen.get(value)
                        if encoded is None:
                            encoded = seen[value] = process(value)
                        value = encoded
                values.append(value)
            chunk.append(tuple(values))
            if len(chunk) >= CHUNK:
                connection.exec_driver_sql(statement, chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            connection.exec_driver_sql(statement, chunk)
            count += len(chunk)
    return count


def grow(
    path: Path,
    box: SecretBox,
    rng: random.Random,
    users: range,
    *,
    destinations_per_user: int,
    deliveries_per_user: int,
) -> float:
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
    _bulk(
        engine,
        tables[str(Destination.__tablename__)],
        _destination_rows(box, users, destinations_per_user),
    )
    _bulk(
        engine,
        tables[str(Delivery.__tablename__)],
        _delivery_rows(rng, users, deliveries_per_user, destinations_per_user),
    )
    with engine.begin() as connection:  # fold the WAL in: the file as a running bot has it
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return time.perf_counter() - started


Op = Callable[[AsyncSession, Owner], Awaitable[Any]]
HOUR_AGO = NOW - timedelta(hours=1)


async def _list_destinations(db: AsyncSession, owner: Owner) -> Any:
    found = await destinations.list_destinations(db=db, owner=owner)
    assert found, owner
    return found


async def _history(db: AsyncSession, owner: Owner) -> Any:
    found = await deliveries.recent_deliveries(db=db, owner=owner, limit=20)
    assert len(found) == 20, owner
    return found


async def _count_since(db: AsyncSession, owner: Owner) -> Any:
    return await deliveries.count_sends(
        db=db, owner=owner, hour=HOUR_AGO, day=NOW - timedelta(days=1), destination_id="none"
    )


async def _last_used(db: AsyncSession, owner: Owner) -> Any:
    return await deliveries.last_used_destination_id(db=db, owner=owner)


async def _claim_due(db: AsyncSession, owner: Owner) -> Any:
    return await deliveries.claim_due(
        db=db, worker_id="bench", now=NOW, lease=timedelta(minutes=10), limit=50
    )


OPS: dict[str, Op] = {
    "list_destinations": _list_destinations,
    "recent_deliveries": _history,
    "count_since": _count_since,
    "last_used_destination_id": _last_used,
    "claim_due": _claim_due,
}


class Size:
    """One database file under the product's own engine, with its timings so far."""

    def __init__(self, name: str, path: Path, users: int) -> None:
        self.name = name
        self.users = users
        self.engine = create_engine(f"sqlite+aiosqlite:///{path}")
        self.database = session_factory(self.engine)
        self.times: dict[str, list[float]] = {name: [] for name in [*OPS, "secretbox_open"]}

    async def time_op(
        self, name: str, samples: int, rng: random.Random, record: bool = True
    ) -> None:
        op = OPS[name]
        for _ in range(samples):
            owner = Owner(data.TEAM_ID, _user(rng.randrange(self.users)))
            started = time.perf_counter()
            async with transaction(self.database) as db:
                await op(db, owner)
            if record:
                self.times[name].append((time.perf_counter() - started) * 1000)

    async def time_open(self, box: SecretBox, samples: int) -> None:
        async with transaction(self.database) as db:
            one, stored = await destinations.sealed_password(
                db=db,
                owner=Owner(data.TEAM_ID, _user(0)),
                destination_id=f"d{0:08d}{0:04d}",
            )
        sealed = Sealed(stored.key_id, stored.ciphertext)
        for _ in range(samples):
            started = time.perf_counter()
            box.open(sealed, context=password_context(one.id), label=one.name)
            self.times["secretbox_open"].append((time.perf_counter() - started) * 1000)

    def summary(self) -> dict[str, Json]:
        return {
            name: {"p50_ms": percentile(t, 50), "p99_ms": percentile(t, 99), "n": len(t)}
            for name, t in self.times.items()
        }


async def measure(config: Json) -> Json:
    """config: folder, small_users, big_users, destinations_per_user, deliveries_per_user,
    samples, rounds. Builds a small and a big database, then times every operation on
    both, alternating which goes first, over several rounds."""
    folder = Path(config["folder"])
    box = SecretBox([parse_key(new_key(), source="bench")])
    rng = random.Random(4)
    per_dest, per_delivery = config["destinations_per_user"], config["deliveries_per_user"]
    paths = {"small": folder / "storage-small.db", "big": folder / "storage-big.db"}
    users = {"small": config["small_users"], "big": config["big_users"]}
    insert_seconds = 0.0
    for name, path in paths.items():
        remove_database(path)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await create_tables(engine)  # the product's schema, migrations included
        await engine.dispose()
        insert_seconds += grow(
            path,
            box,
            rng,
            range(users[name]),
            destinations_per_user=per_dest,
            deliveries_per_user=per_delivery,
        )
    sizes = {name: Size(name, path, users[name]) for name, path in paths.items()}
    rounds = config["rounds"]
    per_round = max(1, config["samples"] // rounds)
    try:
        for size in sizes.values():
            for name in OPS:
                await size.time_op(name, 20, rng, record=False)  # warm caches and statements
        for round_no in range(rounds):
            order = list(sizes.values())
            if round_no % 2:
                order.reverse()
            for name in OPS:
                for size in order:
                    await size.time_op(name, per_round, rng)
            for size in order:
                await size.time_open(box, per_round)
    finally:
        for size in sizes.values():
            await size.engine.dispose()
    result = {
        name: {
            "users": users[name],
            "destinations": users[name] * per_dest,
            "deliveries": users[name] * per_delivery,
            "ops": size.summary(),
            "file_mb": file_size(paths[name]) / 1e6,
        }
        for name, size in sizes.items()
    }
    for path in paths.values():
        remove_database(path)
    return {"sizes": result, "insert_seconds": insert_seconds}
