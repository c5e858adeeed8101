"""A single-workspace bot forgets its own workspace on uninstall, and nothing else."""

from __future__ import annotations

import json

from tests.support.harness import Harness
from tests.support.send_flow import add_destination, rows


async def uninstall(harness: Harness, team: str) -> None:
    body = json.loads(harness.requests.event({"type": "app_uninstalled"}).body)
    body["team_id"] = team
    body["authorizations"][0]["team_id"] = team
    status, _ = await harness.send(harness.requests.sign(json.dumps(body), "application/json"))
    assert status in (200, 400)
    await harness.app.listeners.finish(grace=5)


async def test_another_teams_uninstall_deletes_nothing(harness: Harness) -> None:
    await add_destination(harness)
    await uninstall(harness, "T0OTHER")
    assert rows(harness, "select count(*) from destination") == [(1,)]


async def test_its_own_uninstall_deletes_its_destinations(harness: Harness) -> None:
    await add_destination(harness)
    await uninstall(harness, harness.requests.team_id)
    assert rows(harness, "select count(*) from destination") == [(0,)]
