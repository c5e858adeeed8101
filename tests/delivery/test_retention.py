"""The worker's retention sweep: each workspace's "Keep history for" (365 days without a
policy, 0 forever), old rows only, in batches."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from bot.delivery import retention
from storage import audit, drafts, policies
from storage.db import transaction
from storage.models import Owner
from tests.support.harness import Harness
from tests.support.send_flow import rows


async def add_entries(harness: Harness, team: str, *ages: int) -> None:
    services = harness.app.services
    async with transaction(services.database) as db:
        for days in ages:
            await audit.record(
                db=db,
                enterprise_id="",
                team_id=team,
                user_id="U1",
                action=f"{days} days ago",
                details={},
                at=services.clock() - timedelta(days=days),
            )


async def keep(harness: Harness, team: str, days: int) -> None:
    async with transaction(harness.app.services.database) as db:
        await policies.save_policy(
            db=db, enterprise_id="", team_id=team, by="U1", values={"keep_days": days}
        )


def left(harness: Harness, team: str) -> list[str]:
    found = rows(harness, "select action from auditentry where team_id = ? order by id", team)
    return [str(action) for (action,) in found]


async def test_each_workspace_keeps_its_own_history(harness: Harness) -> None:
    await harness.app.outbox.stop()  # its idle sweep would race this one
    await keep(harness, "T30", 30)
    await keep(harness, "TFOREVER", 0)
    for team in ("T30", "TFOREVER", "TDEFAULT"):
        await add_entries(harness, team, 2, 40, 400)
    removed = await retention.sweep(harness.app.services)
    assert removed == 3
    assert left(harness, "T30") == ["2 days ago"]
    assert left(harness, "TFOREVER") == ["2 days ago", "40 days ago", "400 days ago"]
    assert left(harness, "TDEFAULT") == ["2 days ago", "40 days ago"]


async def test_a_large_backlog_goes_in_batches_over_sweeps(harness: Harness) -> None:
    await harness.app.outbox.stop()
    await keep(harness, "TBIG", 1)
    await add_entries(harness, "TBIG", *([10] * (audit.SWEEP_BATCH * 2 + 5)))
    assert await retention.sweep(harness.app.services) == audit.SWEEP_BATCH * 2 + 5
    assert left(harness, "TBIG") == []


async def test_drafts_older_than_a_day_are_swept_and_their_modal_starts_over(
    harness: Harness,
) -> None:
    await harness.app.outbox.stop()
    services = harness.app.services
    async with transaction(services.database) as db:
        for user in ("U0OLD", "U0NEW"):
            await drafts.create_draft(db=db, owner=Owner("T1", user), payload_json="{}")
    with sqlite3.connect(harness.database_path) as connection:
        connection.execute(
            "update draft set created_at = ? where user_id = 'U0OLD'",
            ((services.clock() - timedelta(days=1, minutes=1)).isoformat(" "),),
        )
    await retention.sweep(services)
    assert rows(harness, "select user_id from draft") == [("U0NEW",)]
