"""Alembic migrations on SQLite and PostgreSQL, and what the bot does with them at start."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from storage import migrate
from storage.db import create_engine
from storage.errors import SchemaOutOfDate
from tests.conftest import ENGINES, sqlite_url
from tests.support.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "alembic_version", "auditentry", "delivery", "destination", "draft", "follow",
    "followitem", "installation", "oauth_state", "sharedsession", "sharekey",
    "userpreference", "workspacepolicy",
}  # fmt: skip


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database(migrated=False) as url:
        yield url


@pytest.fixture
async def empty(empty_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_builds_exactly_the_models(empty: AsyncEngine) -> None:
    assert await migrate.state(empty) == migrate.SchemaState(None, migrate.head_revision())
    before = await migrate.upgrade(empty)
    assert before.current is None
    assert (await migrate.state(empty)).up_to_date
    async with empty.connect() as connection:
        assert await connection.run_sync(tables) == TABLES
        assert await connection.run_sync(differences) == []  # no model change lacks a revision
    await migrate.upgrade(empty)  # a second run changes nothing


async def test_rows_survive_each_upgrade(empty: AsyncEngine) -> None:
    await migrate.upgrade(empty, migrate.INITIAL_REVISION)
    async with empty.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO draft (id, team_id, user_id, payload_json, created_at) "
                "VALUES ('d1', 'T1', 'U1', '{}', '2026-01-01 00:00:00')"
            )
        )
    await migrate.upgrade(empty)
    async with empty.connect() as connection:
        found = (await connection.execute(text("SELECT id, enterprise_id FROM draft"))).all()
    assert [tuple(row) for row in found] == [("d1", "")]


async def test_downgrade_to_nothing_and_back(empty: AsyncEngine) -> None:
    await migrate.upgrade(empty)
    async with empty.begin() as connection:
        await connection.run_sync(lambda sync: _downgrade(sync, "base"))
    async with empty.connect() as connection:
        assert await connection.run_sync(tables) == {"alembic_version"}
    await migrate.upgrade(empty)
    assert (await migrate.state(empty)).up_to_date


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.downgrade(migrate.config(connection), revision)


async def test_sqlite_upgrades_itself_at_start(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    try:
        await migrate.prepare(engine)
        assert (await migrate.state(engine)).up_to_date
    finally:
        await engine.dispose()


async def test_a_database_from_before_migrations_is_adopted(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    try:
        # What create_all made before Alembic: the first revision's tables, no version table.
        await migrate.upgrade(engine, migrate.INITIAL_REVISION)
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE alembic_version"))
            await connection.execute(
                text(
                    "INSERT INTO draft (id, team_id, user_id, payload_json, created_at) "
                    "VALUES ('d1', 'T1', 'U1', '{}', '2026-01-01 00:00:00')"
                )
            )
        assert (await migrate.state(engine)).current == migrate.INITIAL_REVISION
        await migrate.prepare(engine)
        assert (await migrate.state(engine)).up_to_date
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT id FROM draft"))).scalar() == "d1"
    finally:
        await engine.dispose()


async def test_postgresql_out_of_date_is_refused_not_upgraded(postgres: PostgresServer) -> None:
    with postgres.database(migrated=False) as url:
        engine = create_engine(url)
        try:
            with pytest.raises(SchemaOutOfDate, match="run `xenocept db upgrade`"):
                await migrate.prepare(engine)
            async with engine.connect() as connection:
                assert await connection.run_sync(tables) == set()  # nothing was changed
            await migrate.upgrade(engine)
            await migrate.prepare(engine)
        finally:
            await engine.dispose()


def test_schema_messages_are_one_sentence() -> None:
    for error in (
        SchemaOutOfDate(current=None, head="0002"),
        SchemaOutOfDate(current="0001", head="0002"),
        SchemaOutOfDate(current="9999", head="0002", known=False),
    ):
        text_ = str(error)
        assert text_.count(". ") == 0 and text_.endswith(".") and "\n" not in text_


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(REPO), **env},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_db_commands_and_the_refusal_at_start(postgres: PostgresServer, tmp_path: Path) -> None:
    with postgres.database(migrated=False) as url:
        env = {
            "XENOCEPT_DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "SLACK_SIGNING_SECRET": "s3cret",
            "XENOCEPT_SECRET_KEY": _key(),
        }
        refused = cli("run", "--http", "--port", "0", env=env, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert "xenocept db upgrade" in refused.stderr and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert cli("db", "current", env=env, cwd=tmp_path).returncode == 1
        upgraded = cli("db", "upgrade", env=env, cwd=tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        assert migrate.head_revision() in upgraded.stdout
        current = cli("db", "current", env=env, cwd=tmp_path)
        assert current.returncode == 0 and "up to date" in current.stdout


def _key() -> str:
    from bot.crypto import new_key

    return new_key()


def test_the_installed_package_carries_every_migration_file() -> None:
    """CI installs a wheel, not the work tree: package-data must list every file."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["storage"]
    folder = REPO / "storage" / "migrations"
    files = [
        path.relative_to(REPO / "storage").as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert files
    missing = [name for name in files if not any(fnmatch(name, glob) for glob in patterns)]
    assert missing == []
