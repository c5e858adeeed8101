"""The audit trail and retention on every engine: entries per workspace, pages in order,
and the sweep deleting only what is old, finished and of the right workspace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import audit, deliveries, policies
from storage.db import SessionFactory, transaction
from storage.models import Delivery, DeliveryKind, DeliveryStatus, Owner, new_id

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
T1, T2 = Owner("T1", "U1"), Owner("T2", "U2")


async def entry(database: SessionFactory, owner: Owner, action: str, at: datetime) -> None:
    async with transaction(database) as db:
        await audit.record(
            db=db,
            enterprise_id="",
            team_id=owner.team_id,
            user_id=owner.user_id,
            action=action,
            details={"n": 1},
            at=at,
        )


async def history(
    database: SessionFactory, owner: Owner, created: datetime, status: DeliveryStatus
) -> None:
    delivery_id = new_id()
    row = Delivery(
        id=delivery_id,
        team_id="",
        user_id="",
        destination_id="d",
        destination_name="iCloud",
        kind=DeliveryKind.SESSION,
        message_id=f"<{delivery_id}@x>",
        status=status,
        created_at=created,
    )
    async with transaction(database) as db:
        await deliveries.enqueue(db=db, owner=owner, delivery=row)


async def actions(database: SessionFactory, owner: Owner) -> list[str]:
    async with transaction(database) as db:
        page = await audit.entries_page(db=db, enterprise_id="", team_id=owner.team_id, limit=100)
    return [row.action for row in page]


async def test_entries_are_per_workspace_and_paged_in_order(database: SessionFactory) -> None:
    for n in range(5):
        await entry(database, T1, f"a{n}", NOW)
    await entry(database, T2, "other", NOW)
    assert await actions(database, T1) == ["a0", "a1", "a2", "a3", "a4"]
    assert await actions(database, T2) == ["other"]
    async with transaction(database) as db:
        first = await audit.entries_page(db=db, enterprise_id="", team_id="T1", limit=2)
        rest = await audit.entries_page(
            db=db, enterprise_id="", team_id="T1", after_id=first[-1].id or 0, limit=10
        )
        newest = await audit.entries_page(
            db=db, enterprise_id="", team_id="T1", limit=1, newest_first=True
        )
    assert [r.action for r in [*first, *rest]] == ["a0", "a1", "a2", "a3", "a4"]
    assert [r.action for r in newest] == ["a4"]


async def test_the_sweep_takes_only_old_finished_rows_of_its_workspace(
    database: SessionFactory,
) -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=5)
    for owner in (T1, T2):
        await entry(database, owner, "old", old)
        await entry(database, owner, "recent", recent)
        await history(database, owner, old, DeliveryStatus.SENT)
        await history(database, owner, old, DeliveryStatus.QUEUED)  # never swept
        await history(database, owner, recent, DeliveryStatus.FAILED)
    async with transaction(database) as db:
        await policies.save_policy(
            db=db, enterprise_id="", team_id="T1", by="U1", values={"keep_days": 30}
        )
        gone = await audit.sweep_batch(db=db, team_id="T1", before=NOW - timedelta(days=30))
    assert gone == 2
    assert await actions(database, T1) == ["recent"]
    assert await actions(database, T2) == ["old", "recent"]  # its own rule: 365 days
    async with transaction(database) as db:
        left = await deliveries.recent_deliveries(db=db, owner=T1, limit=10)
        assert {d.status for d in left} == {DeliveryStatus.QUEUED, DeliveryStatus.FAILED}
        # The default sweep (workspaces without a policy) leaves T1, which has one.
        assert (
            await audit.sweep_batch(
                db=db, team_id=None, before=NOW - timedelta(days=1), keep_teams=["T1"]
            )
            == 4  # T2's two entries and two finished sends; its queued one stays
        )
    assert await actions(database, T1) == ["recent"]
    assert await actions(database, T2) == []


async def test_policies_never_mix_between_workspaces(database: SessionFactory) -> None:
    async with transaction(database) as db:
        await policies.save_policy(
            db=db, enterprise_id="", team_id="T1", by="U1", values={"allowed_domains": "a.com"}
        )
        await policies.save_policy(
            db=db, enterprise_id="", team_id="T2", by="U2", values={"allowed_domains": "b.com"}
        )
        await policies.save_policy(
            db=db, enterprise_id="", team_id="T1", by="U1", values={"allowed_domains": "c.com"}
        )
    async with transaction(database) as db:
        one = await policies.get_policy(db=db, enterprise_id="", team_id="T1")
        two = await policies.get_policy(db=db, enterprise_id="", team_id="T2")
        none = await policies.get_policy(db=db, enterprise_id="", team_id="T3")
    assert one is not None and one.allowed_domains == "c.com"
    assert two is not None and two.allowed_domains == "b.com" and none is None
