"""Alembic environment for Xenocept's tables (SQLite and PostgreSQL).

The bot runs migrations through :mod:`storage.migrate`, which hands this script an open
connection (``config.attributes["connection"]``). Run by the ``alembic`` command instead
(for example to autogenerate a new revision), it connects to ``sqlalchemy.url`` or else
``XENOCEPT_DATABASE_URL`` with the async engine::

    XENOCEPT_DATABASE_URL=sqlite+aiosqlite:////tmp/x.db \\
        alembic -c storage/migrations/alembic.ini revision --autogenerate -m "what changed"
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from storage.models import UTCDateTime  # (importing the models registers the tables)

target_metadata = SQLModel.metadata


def render_item(kind: str, item: Any, autogen: Any) -> str | Literal[False]:
    """Revisions stay self-contained: our column types are written as SQLAlchemy's."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(item, AutoString):
        return "sa.String()"
    return False


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "XENOCEPT_DATABASE_URL"
    )
    if not url:
        raise SystemExit("Set XENOCEPT_DATABASE_URL (or sqlalchemy.url) to run migrations.")
    return url


async def run_with_new_engine() -> None:
    from storage.db import create_engine

    engine = create_engine(database_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (given := context.config.attributes.get("connection")) is not None:
    run_on(given)
else:
    asyncio.run(run_with_new_engine())
