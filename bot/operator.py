"""One sentence for each ordinary operator mistake the CLI meets (exit code 2).

Settings and keys explain themselves (``SettingsError``, ``SecretKeyError``); what the
libraries raise for a database that does not answer, a read-only disk or a port in use is
turned into words here, so that no traceback reaches an operator.
"""

from __future__ import annotations

import errno
import socket

from bot.errors import XenoceptError
from bot.settings import Settings
from storage.db import is_database_error, redacted_url, sqlite_path
from storage.errors import StorageError, StorageUnavailable


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def explain(
    error: BaseException,
    settings: Settings | None,
    *,
    port: int | None = None,
    host: str | None = None,
) -> str | None:
    """The operator's sentence for ``error``, or None for a bug (which keeps its traceback)."""
    if isinstance(error, StorageUnavailable) and error.__cause__ is not None:
        error = error.__cause__  # the driver's own error says which database trouble
    if isinstance(error, (XenoceptError, StorageError)):
        return str(error)
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use: stop what holds it, or choose "
            "another with --port."
        )
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM) and port:
        return f"Binding port {port} needs privileges this user lacks: use a port above 1023."
    if settings is None:
        return None
    url = settings.resolved_database_url()
    path = sqlite_path(url)
    text = _first_line(error).lower()
    if path is not None and (
        isinstance(error, PermissionError)
        or (isinstance(error, OSError) and error.errno in (errno.EROFS, errno.EACCES))
        or "readonly" in text
        or "read-only" in text
        or "unable to open" in text
    ):
        return (
            f"Cannot write the SQLite database {path}: make its folder and file writable "
            "by this user (or set XENOCEPT_DATABASE_URL to a writable place)."
        )
    if path is not None and isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"The disk holding {path} is full: free some space, then start again."
    unreachable = (ConnectionError, socket.gaierror, TimeoutError)
    if (
        isinstance(error, unreachable)
        or is_database_error(error)
        or (isinstance(error, OSError) and path is None)
    ):
        return (
            f"The database at {redacted_url(url)} does not answer ({_first_line(error)}): "
            "check XENOCEPT_DATABASE_URL and that the server runs."
        )
    return None
