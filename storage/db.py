"""Engine and sessions. Nothing here runs at import time."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import (
    models,  # noqa: F401  (registers the tables on SQLModel.metadata)
    sqlite_inline,
)
from storage.errors import Conflict, StorageUnavailable

# The names the layers above use, so that none of them imports SQLAlchemy itself.
Engine = AsyncEngine
DbSession = AsyncSession  # a database session (not a Xenocept session, not an SMTP one)
SessionFactory = async_sessionmaker[AsyncSession]


def redacted_url(url: str) -> str:
    """A database URL fit for a log line: the password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def is_database_error(error: BaseException) -> bool:
    """Raised by the database layer itself (driver or SQLAlchemy), not by our code."""
    return isinstance(error, SQLAlchemyError) or type(error).__module__.startswith("asyncpg")


def engine_kind(engine: AsyncEngine) -> str:
    """ "sqlite" or "postgresql"."""
    return engine.dialect.name


async def ping(engine: AsyncEngine) -> None:
    """Raises the driver's error if the database does not answer."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def sqlite_path(url: str) -> Path | None:
    """The database file behind a SQLite URL, or None for other engines/in-memory."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def private_file(path: Path) -> None:
    """The SQLite file (ciphertext, workspace tokens, who sent what to whom) readable by
    its owner only, like the key file; SQLite gives its -wal and -shm files the same mode."""
    if not path.exists():
        path.touch(mode=0o600)
    elif path.stat().st_mode & 0o077 and path.stat().st_uid == os.geteuid():
        path.chmod(0o600)


def create_engine(url: str, *, commit_in_thread: bool = True) -> AsyncEngine:
    """An async engine; SQLite files get their folder and WAL. ``commit_in_thread``
    False: SQLite commits block the loop for the fsync (the outbox worker's choice,
    see ``sqlite_inline``)."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        private_file(path)
    # A SQLite file takes one writer at a time; with several pooled connections, concurrent
    # writers wait in SQLite's busy handler, which sleeps (up to 100 ms a try): under a
    # burst of sends some acks took seconds. One connection queues them in order instead,
    # and its statements run on the loop's thread (sqlite_inline says why).
    options: dict[str, Any] = {}
    if path is not None:
        options = {
            "pool_size": 1,
            "max_overflow": 0,
            "async_creator": sqlite_inline.connector(path, commit_in_thread=commit_in_thread),
        }
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # No busy_timeout: a locked file is waited for without blocking the loop (sqlite_inline).
    cursor.execute("PRAGMA foreign_keys=ON")
    # Freed pages are zeroed, so a removed destination leaves no ciphertext behind.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


async def create_tables(engine: AsyncEngine) -> None:
    """Create (or bring up to date) every table by running the migrations."""
    from storage.migrate import upgrade

    await upgrade(engine)


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed on success, rolled back (nothing half-saved) on error.

    The database refusing the work itself (disk full, connection lost, read-only) is
    raised as ``StorageUnavailable``, and a unique row written meanwhile by another instance
    as ``Conflict``, so callers above storage name no driver's errors."""
    try:
        async with factory() as db, db.begin():
            yield db
    except IntegrityError as error:
        raise Conflict(_reason(error)) from error
    except (OperationalError, InterfaceError) as error:
        raise StorageUnavailable(_reason(error)) from error


def _reason(error: DBAPIError) -> str:
    text = str(error.orig or error).strip().splitlines()
    return text[0][:120] if text else type(error).__name__
