"""The audit trail's writes and its CSV export.

Entries name the action, the acting user, the workspace and the time, with the ids and
counts that say what happened: never message text, file content, a subject the user typed,
or a secret.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.services import Services
from storage import audit
from storage.db import DbSession, transaction
from storage.models import Owner

EXPORT_PAGE = 1_000  # entries read per query while writing the CSV
CSV_COLUMNS = ("time", "user", "action", "details")


async def record(db: DbSession, owner: Owner, action: str, at: datetime, **details: Any) -> None:
    """One entry, in the caller's transaction: it lands with the change it describes."""
    await audit.record(
        db=db,
        enterprise_id=owner.enterprise_id,
        team_id=owner.team_id,
        user_id=owner.user_id,
        action=action,
        details=details,
        at=at,
    )


async def recent(db: DbSession, owner: Owner, *, limit: int) -> list[tuple[str, str, str]]:
    """The workspace's newest entries as (time, user, what), for App Home."""
    rows = await audit.entries_page(
        db=db,
        enterprise_id=owner.enterprise_id,
        team_id=owner.team_id,
        limit=limit,
        newest_first=True,
    )
    return [(row.at.isoformat(timespec="minutes"), row.user_id, row.action) for row in rows]


@contextmanager
def scratch_file() -> Iterator[Path]:
    """A private temporary file for an export, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="xenocept-audit-") as folder:
        yield Path(folder) / "audit.csv"


async def write_csv(services: Services, owner: Owner, *, days: int, path: Path) -> int:
    """The workspace's entries of the last ``days`` days into ``path``, a page at a time
    (a year of a large workspace never sits in memory). Returns how many were written."""
    since = services.clock() - timedelta(days=days)
    written, after = 0, 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        while True:
            async with transaction(services.database) as db:
                page = await audit.entries_page(
                    db=db,
                    enterprise_id=owner.enterprise_id,
                    team_id=owner.team_id,
                    since=since,
                    after_id=after,
                    limit=EXPORT_PAGE,
                )
            for row in page:
                details = json.loads(row.details_json)
                writer.writerow((row.at.isoformat(), row.user_id, row.action, _flat(details)))
            written += len(page)
            if len(page) < EXPORT_PAGE:
                return written
            after = page[-1].id or after


def _flat(details: dict[str, Any]) -> str:
    """``key=value; …``: one readable cell (a spreadsheet opens it without JSON)."""
    return "; ".join(f"{key}={value}" for key, value in sorted(details.items()))
