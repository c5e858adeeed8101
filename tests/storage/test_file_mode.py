"""The SQLite file holds ciphertext, tokens and who sent what to whom: owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.support.harness import Harness


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_and_its_wal_are_0600(harness: Harness) -> None:
    status, _ = await harness.command("list")  # the app has read and written by now
    assert status == 200
    folder = Path(harness.database_path).parent
    files = sorted(folder.glob("xenocept.db*"))
    assert Path(harness.database_path) in files
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


async def test_an_existing_world_readable_file_is_tightened(tmp_path: Path) -> None:
    from storage.db import create_engine

    database = tmp_path / "old.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await engine.dispose()
    assert mode(database) == 0o600
