"""Errors raised by the storage package.

StorageError
├── NotFound        no row with that id or name belongs to the requesting owner
└── DuplicateName   the owner already has a destination with that name
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error raised by the storage package."""


class NotFound(StorageError, LookupError):
    """The row does not exist for this owner (whether or not it exists for someone else)."""


class DuplicateName(StorageError, ValueError):
    """The owner already uses this destination name."""
