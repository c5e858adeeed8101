"""SQLite statements run on the event loop's own thread, for SQLAlchemy's aiosqlite dialect.

aiosqlite runs each call (cursor, execute, fetch, commit) in its thread and hands the
result back through the event loop. Under load every hand-off waits its turn behind the
other ready tasks, and a transaction holds SQLite's single write lock through all of its
hand-offs: measured with 50 Slack requests in flight, write transactions held the lock
for 8–10 ms at the median and 80–110 ms at p99, so every other writer — the other
requests, and the outbox process — queued behind them. Statements on a local, indexed
file take microseconds, so here they simply run where they are awaited: these coroutines
never suspend, a transaction runs from BEGIN to COMMIT without a turn of the loop, and
the lock is held only as long as SQLite works. COMMIT waits for the disk (the WAL's
fsync, ~0.5 ms). The process that answers Slack runs it in a thread, so its loop goes on
answering meanwhile. The outbox worker runs it here: its loop is busy rendering, and a
commit in a thread held the write lock until that thread got the GIL back, 5–10 ms at a
time (measured, BENCHMARKS.md), while the bot's submissions waited for the lock.

Waiting for a lock another connection holds must not block the loop (the holder may be a
task on this very loop, suspended mid-transaction), so connections have no busy timeout:
a statement SQLite answers SQLITE_BUSY is tried again after an ``asyncio.sleep`` that
doubles from 1 ms to 4 ms (locks are held for about a millisecond, so a longer pause only
adds latency), for up to ``BUSY_WAIT_SECONDS`` (what ``busy_timeout`` gave before),
then raised as "database is locked". Retrying is safe here: Python's sqlite3 opens a
transaction only at its first write, so a statement refused a lock has changed nothing and
holds no stale read snapshot.

The objects below are the part of aiosqlite's interface that SQLAlchemy's adapter uses
(``AsyncAdapt_aiosqlite_connection``), passed as the engine's ``async_creator``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
BUSY_WAIT_SECONDS = 5.0
FIRST_PAUSE_SECONDS = 0.001
LONGEST_PAUSE_SECONDS = 0.004


async def _when_unlocked(call: Callable[[], T], *, in_thread: bool = False) -> T:
    """``call()``, tried again while another connection holds the lock it needs;
    ``in_thread``: run it in a worker thread (a commit waits for the disk's fsync)."""
    pause, deadline = FIRST_PAUSE_SECONDS, None
    while True:
        try:
            return await asyncio.to_thread(call) if in_thread else call()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            now = time.monotonic()
            deadline = deadline or now + BUSY_WAIT_SECONDS
            if now >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        await _when_unlocked(lambda: self._cursor.execute(sql, parameters or ()))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(parameters)  # iterated again if the first try finds the file locked
        await _when_unlocked(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    def __init__(self, connection: sqlite3.Connection, *, commit_in_thread: bool) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # None once closed
        self._commit_in_thread = commit_in_thread

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._live().cursor())

    async def commit(self) -> None:
        # The connection is this transaction's alone until the commit returns (pool of 1).
        # Nothing written (sqlite3 began no transaction): nothing to wait for.
        connection = self._live()
        in_thread = self._commit_in_thread and connection.in_transaction
        await _when_unlocked(connection.commit, in_thread=in_thread)

    async def rollback(self) -> None:
        self._live().rollback()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def stop(self) -> None:
        """What SQLAlchemy calls to terminate a connection it gave up on."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def create_function(
        self, name: str, parameters: int, function: Callable[..., Any], **options: Any
    ) -> None:
        self._live().create_function(name, parameters, function, **options)

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection


def connector(path: Path, *, commit_in_thread: bool = True) -> Callable[[], Any]:
    """The engine's ``async_creator``: a new connection to the file at ``path``."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from a finaliser (and a
        # commit may run in a thread). timeout 0: SQLite's busy wait would block the loop.
        return InlineConnection(
            sqlite3.connect(path, timeout=0, check_same_thread=False),
            commit_in_thread=commit_in_thread,
        )

    return connect
