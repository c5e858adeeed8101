"""Schema migrations (Alembic, in ``storage/migrations``) for SQLite and PostgreSQL.

- :func:`upgrade` brings a database to the newest revision (``xenocept db upgrade``).
- :func:`prepare` is what the bot does at start: a SQLite file upgrades itself (zero
  setup for one machine); any other database must already be current, because several
  instances share it and a schema change is the operator's decision.

A database made before migrations existed (tables, no ``alembic_version``) is adopted as
the initial revision, then upgraded like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.errors import SchemaOutOfDate

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INITIAL_REVISION = "0001"
# Serialises concurrent `xenocept db upgrade` runs on PostgreSQL (an arbitrary constant).
UPGRADE_LOCK = 0x58_656E_6F  # "Xeno"


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def newer(self) -> bool:
        """Migrated by a later version of Xenocept than this one."""
        return not _known(self.current)


def config(connection: Connection | None = None) -> Config:
    settings = Config()
    settings.set_main_option("script_location", str(MIGRATIONS))
    settings.attributes["connection"] = connection
    return settings


def head_revision() -> str:
    head = ScriptDirectory.from_config(config()).get_current_head()
    assert head is not None, "storage/migrations has no revision"
    return head


async def state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revision)
    return SchemaState(current=current, head=head_revision())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> SchemaState:
    """Migrate to ``revision``; returns the state before. One transaction where possible."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK}
            )
        before = await connection.run_sync(_current_revision)
        if not _known(before):  # a newer Xenocept migrated it: never guess a way back
            raise SchemaOutOfDate(current=before, head=head_revision(), known=False)
        await connection.run_sync(_upgrade, revision)
    return SchemaState(current=before, head=head_revision())


async def prepare(engine: AsyncEngine) -> None:
    """At start: upgrade a SQLite file; refuse any other database that is not current."""
    if engine.dialect.name == "sqlite":
        before = await upgrade(engine)
        if before.current != before.head:
            log.info(
                "database schema upgraded from %s to %s", before.current or "nothing", before.head
            )
        return
    found = await state(engine)
    if not found.up_to_date:
        raise SchemaOutOfDate(current=found.current, head=found.head, known=_known(found.current))


def _current_revision(connection: Connection) -> str | None:
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None and _has_unversioned_tables(connection):
        return INITIAL_REVISION
    return current


def _upgrade(connection: Connection, revision: str) -> None:
    settings = config(connection)
    if MigrationContext.configure(
        connection
    ).get_current_revision() is None and _has_unversioned_tables(connection):
        command.stamp(settings, INITIAL_REVISION)
    command.upgrade(settings, revision)


def _has_unversioned_tables(connection: Connection) -> bool:
    """Tables made by ``create_all`` before there were migrations."""
    return bool(inspect(connection).has_table("delivery"))


def _known(revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return ScriptDirectory.from_config(config()).get_revision(revision) is not None
    except CommandError:
        return False
