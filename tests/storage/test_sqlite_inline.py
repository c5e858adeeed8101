"""SQLite on the loop's thread: a locked file is waited for without blocking the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import sqlite_inline
from storage.db import create_engine, session_factory, transaction
from storage.errors import StorageUnavailable
from storage.migrate import upgrade
from storage.models import Draft, new_id


def draft(user: str) -> Draft:
    return Draft(id=new_id(), team_id="T1", user_id=user, payload_json="{}")


@pytest.mark.parametrize("commit_in_thread", [True, False], ids=["bot", "worker"])
async def test_a_writer_waits_for_a_suspended_writer_on_the_same_loop(
    tmp_path: Path, commit_in_thread: bool
) -> None:
    """The holder needs the loop to finish: SQLite's own busy wait would block it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    first = create_engine(url, commit_in_thread=commit_in_thread)
    second = create_engine(url, commit_in_thread=commit_in_thread)
    await upgrade(first)
    holding, order = asyncio.Event(), []
    try:

        async def hold() -> None:
            async with transaction(session_factory(first)) as db:
                db.add(draft("U1"))
                await db.flush()  # the write lock is taken here
                holding.set()
                await asyncio.sleep(0.05)  # suspended mid-transaction, lock held
                order.append("first committed")

        async def write() -> None:
            await holding.wait()
            async with transaction(session_factory(second)) as db:
                db.add(draft("U2"))
            order.append("second committed")

        await asyncio.wait_for(asyncio.gather(hold(), write()), 5)
    finally:
        await first.dispose()
        await second.dispose()
    assert order == ["first committed", "second committed"]
    with sqlite3.connect(tmp_path / "x.db") as connection:
        assert connection.execute("select count(*) from draft").fetchone() == (2,)


async def test_a_file_locked_too_long_is_unavailable_and_nothing_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_WAIT_SECONDS", 0.2)
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with pytest.raises(StorageUnavailable, match="database is locked"):
            async with transaction(session_factory(engine)) as db:
                db.add(draft("U1"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with transaction(session_factory(engine)) as db:
        db.add(draft("U2"))  # free again: the same engine writes at once
    await engine.dispose()
    with sqlite3.connect(tmp_path / "x.db") as connection:
        assert connection.execute("select user_id from draft").fetchall() == [("U2",)]
