"""Errors raised by the storage package.

StorageError
├── NotFound        no row with that id or name belongs to the requesting owner
├── DuplicateName   the owner already has a destination with that name
├── SchemaOutOfDate the database needs `xenocept db upgrade` (or a newer Xenocept)
├── Conflict        a row this work writes already exists (another instance wrote it)
└── StorageUnavailable the database took nothing: full disk, unreachable, read-only
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error raised by the storage package."""


class NotFound(StorageError, LookupError):
    """The row does not exist for this owner (whether or not it exists for someone else)."""


class DuplicateName(StorageError, ValueError):
    """The owner already uses this destination name."""


class Conflict(StorageError):
    """A unique row this unit of work would write already exists; nothing was saved."""


class SchemaOutOfDate(StorageError):
    """The database is not at the schema revision this version of Xenocept needs."""

    def __init__(self, *, current: str | None, head: str, known: bool = True) -> None:
        self.current, self.head = current, head
        if current is None:
            text = (
                "The database has no Xenocept tables yet: run `xenocept db upgrade` "
                "once before starting the bot."
            )
        elif not known:
            text = (
                f"The database schema is at revision {current}, newer than this version "
                f"of Xenocept knows ({head}): upgrade Xenocept on this machine."
            )
        else:
            text = (
                f"The database schema is out of date (revision {current}, this version "
                f"needs {head}): run `xenocept db upgrade` before starting the bot."
            )
        super().__init__(text)


class StorageUnavailable(StorageError):
    """The database could not take this unit of work (nothing of it was saved)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The database could not save this ({reason}).")
        self.reason = reason
