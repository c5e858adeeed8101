"""Outages delay work but lose none: Slack down mid-run, a database refusing writes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from tests.support.harness import Harness
from tests.support.send_flow import add_destination, rows


async def test_slack_down_mid_run_the_email_arrives_and_the_status_catches_up(
    harness: Harness,
) -> None:
    await add_destination(harness)
    await harness.smtp.wait_for_messages(1)
    await harness.slack.stop()  # Slack unreachable: connection refused
    status, body = await harness.command("test iCloud")
    assert status == 200 and "Sending a test session" in body["text"]
    mails = await harness.smtp.wait_for_messages(2)
    assert len(mails) == 2
    before = len(harness.slack.calls)
    await harness.slack.start()  # Slack is back, on the same address
    posted = await harness.slack.wait_for(
        "chat.postMessage", lambda c: "works" in str(c.params.get("text"))
        and any(c is later for later in harness.slack.calls[before:]))
    assert "a test session was sent to jane@icloud.com" in str(posted.params["text"])
    assert rows(harness, "select status from delivery") == [("SENT",), ("SENT",)]
    assert len(harness.smtp.received) == 2  # nothing sent twice


@pytest.fixture
def full_disk(harness: Harness) -> Iterator[dict[str, Any]]:
    """While ``on``, the app's database refuses writes as a full disk does (SQLITE_FULL)."""
    state: dict[str, Any] = {"on": False, "refused": 0, "retried": asyncio.Event()}
    engine = harness.app.services.engine.sync_engine

    def refuse(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if state["on"] and statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            state["refused"] += 1
            if state["refused"] >= 3:  # the record was tried, and tried again
                state["retried"].set()
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(engine, "before_cursor_execute", refuse)
    yield state
    event.remove(engine, "before_cursor_execute", refuse)


async def test_a_full_disk_after_the_send_delays_the_record_and_sends_once(
    harness: Harness, full_disk: dict[str, Any],
) -> None:
    await add_destination(harness)
    await harness.smtp.wait_for_messages(1)
    harness.smtp.hold_after_data = True  # the server has the email; its 250 waits
    await harness.command("test iCloud")
    await harness.smtp.wait_for_messages(2)
    full_disk["on"] = True
    harness.smtp.release()
    await asyncio.wait_for(full_disk["retried"].wait(), 10)
    assert rows(harness, "select status from delivery order by created_at")[-1] == ("SENDING",)
    before = len(harness.slack.calls)
    full_disk["on"] = False
    await harness.slack.wait_for("chat.update", lambda c: "works" in str(c.params["text"])
                                 and any(c is later for later in harness.slack.calls[before:]))
    assert rows(harness, "select status from delivery") == [("SENT",), ("SENT",)]
    assert len(harness.smtp.received) == 2
