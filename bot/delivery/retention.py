"""Retention: delivery history and audit entries older than each workspace's "Keep history
for" (365 days without a policy; 0 keeps them forever) are deleted, in small batches; and
drafts of sends older than a day (a modal left open that long starts over)."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.policy import DEFAULT_KEEP_DAYS
from bot.services import Services
from storage import audit, drafts, policies
from storage.db import transaction

log = logging.getLogger(__name__)

MAX_BATCHES = 20  # per workspace and sweep: the rest goes at the next sweep
DRAFTS_KEPT_FOR = timedelta(days=1)  # swept here, not in the shortcut's own transaction


async def sweep(services: Services) -> int:
    """One pass over every workspace; returns how many rows went."""
    now = services.clock()
    async with transaction(services.database) as db:
        await drafts.forget_drafts_before(db=db, moment=now - DRAFTS_KEPT_FOR)
        rows = await policies.all_policies_for_worker(db=db)
    plans: list[tuple[str | None, int]] = [(row.team_id, row.keep_days) for row in rows]
    plans.append((None, DEFAULT_KEEP_DAYS))  # every workspace without a policy of its own
    keep_teams = [row.team_id for row in rows]
    removed = 0
    for team_id, days in plans:
        if days <= 0:
            continue
        for _ in range(MAX_BATCHES):
            async with transaction(services.database) as db:
                gone = await audit.sweep_batch(
                    db=db,
                    team_id=team_id,
                    before=now - timedelta(days=days),
                    keep_teams=keep_teams,
                )
            removed += gone
            if not gone:
                break
    if removed:
        log.info("retention: %d old history and audit rows deleted", removed)
    return removed
