"""Every storage test runs on SQLite and on PostgreSQL (``database_url`` is parametrized)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def database(engine: AsyncEngine) -> SessionFactory:
    return session_factory(engine)
