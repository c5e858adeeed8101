"""Faults of real parts, injected where they arise: the database refusing writes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class FullDisk:
    """While ``on``, every INSERT/UPDATE fails as SQLite does on a full disk (SQLITE_FULL)."""

    on: bool = False
    refused: int = 0
    retried: asyncio.Event = field(default_factory=asyncio.Event)  # 3 writes refused

    def refuse(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.on and statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            self.refused += 1
            if self.refused >= 3:
                self.retried.set()
            raise sqlite3.OperationalError("database or disk is full")


@contextmanager
def full_disk(engine: AsyncEngine) -> Iterator[FullDisk]:
    disk = FullDisk()
    event.listen(engine.sync_engine, "before_cursor_execute", disk.refuse)
    try:
        yield disk
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", disk.refuse)
