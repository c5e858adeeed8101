"""/healthz says the process answers; /readyz says whether it should get traffic."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event

from tests.support.harness import Harness


async def probe(harness: Harness, path: str) -> tuple[int, Any]:
    response = await harness.http.get(path)
    return response.status, await response.json()


async def test_ready_when_database_schema_and_worker_are(harness: Harness) -> None:
    assert await probe(harness, "/healthz") == (200, {"ok": True})
    assert await probe(harness, "/readyz") == (200, {"ok": True})


async def test_a_database_that_does_not_answer_is_not_ready(harness: Harness) -> None:
    engine = harness.app.services.engine.sync_engine

    def refuse(*_: Any) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        status, body = await probe(harness, "/readyz")
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    assert status == 503
    assert body["reason"] == "the database does not answer (OperationalError)"
    assert (await probe(harness, "/healthz"))[0] == 200  # alive, just not ready


async def test_a_schema_from_another_version_is_not_ready(harness: Harness) -> None:
    with sqlite3.connect(harness.database_path) as connection:
        connection.execute("update alembic_version set version_num = '9999'")
    status, body = await probe(harness, "/readyz")
    assert status == 503 and "schema is at revision 9999" in body["reason"]


async def test_a_stopped_worker_is_not_ready(harness: Harness) -> None:
    await harness.app.outbox.stop()
    assert await probe(harness, "/readyz") == (
        503,
        {"ok": False, "reason": "the outbox worker is not running"},
    )
