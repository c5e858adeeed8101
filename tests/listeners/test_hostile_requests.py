"""Garbage and malformed requests: 401 unless signed, then 200/400 with nothing done,
never a 500, a 404 or a traceback (a red-team run found all three)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from bot import ids
from tests.conftest import SIGNING_SECRET
from tests.support.harness import JANE, Harness
from tests.support.send_flow import rows

FORM = "application/x-www-form-urlencoded"


def signed_bytes(body: bytes, *, timestamp: str | None = None) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    # Slack's v0 scheme over the raw bytes (slack_sdk's helper insists on UTF-8 text).
    digest = hmac.new(
        SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    signature = f"v0={digest}"
    return {"Content-Type": FORM, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


async def post(harness: Harness, body: bytes, headers: dict[str, str]) -> int:
    response = await harness.http.post("/slack/events", data=body, headers=headers)
    return response.status


def payload(data: Any) -> bytes:
    return urlencode({"payload": json.dumps(data)}).encode()


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"payload=%7B", {"Content-Type": FORM}),
        (b"[1, 2]", {"Content-Type": "application/json"}),
        (b"\xff\xfe\xfd", {"Content-Type": FORM + "; charset=klingon"}),
        (
            b"payload=%7B",
            {
                "Content-Type": FORM,
                "X-Slack-Request-Timestamp": "soon",
                "X-Slack-Signature": "v0=00",
            },
        ),
        (
            b"payload=%7B",
            {
                "Content-Type": FORM,
                "X-Slack-Request-Timestamp": "1.5",
                "X-Slack-Signature": "v0=00",
            },
        ),
    ],
    ids=["bad-json", "json-list", "bad-utf8-charset", "word-timestamp", "fraction-timestamp"],
)
async def test_unsigned_garbage_is_401_and_never_parsed(
    harness: Harness,
    body: bytes,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await post(harness, body, headers) == 401
    assert "Traceback" not in caplog.text and not caplog.records


async def test_signed_bytes_that_are_not_utf8_are_refused(harness: Harness) -> None:
    body = b"payload=\xff\xfe"
    assert await post(harness, body, signed_bytes(body)) == 401  # nothing Slack sends


VIEW = {
    "id": "V1",
    "hash": "h",
    "type": "modal",
    "callback_id": ids.VIEW_SEND_FORM,
    "private_metadata": "",
    "state": {"values": {}},
}


@pytest.mark.parametrize(
    "body",
    [
        b"payload=%7B",
        b"[1, 2]",
        payload([]),
        payload({"type": "view_submission", "team": {"id": "T111"}, "user": {"id": JANE}}),
        payload({"type": "view_submission", "team": {"id": "T111"}, "view": VIEW}),
        payload(
            {
                "type": "view_submission",
                "team": {"id": "T111"},
                "user": {"id": JANE},
                "view": {**VIEW, "state": "nope"},
            }
        ),
        payload(
            {
                "type": "view_submission",
                "team": {"id": "T111"},
                "user": {"id": JANE},
                "view": {
                    **VIEW,
                    "callback_id": ids.VIEW_DESTINATION_FORM,
                    "private_metadata": "[not, json",
                },
            }
        ),
        payload(
            {"type": "block_actions", "team": {"id": "T111"}, "user": {"id": JANE}, "actions": []}
        ),
        payload(
            {
                "type": "block_actions",
                "team": {"id": "T111"},
                "user": {"id": JANE},
                "actions": [{"action_id": ids.ACTION_TEST_DESTINATION, "value": 7}],
            }
        ),
        payload(
            {
                "type": "message_action",
                "team": {"id": "T111"},
                "user": {"id": JANE},
                "callback_id": ids.SHORTCUT_SEND_TO_EMAIL,
            }
        ),
        urlencode({"command": "/xenocept", "text": "add", "team_id": "T111"}).encode(),
    ],
    ids=[
        "bad-json",
        "json-list",
        "payload-list",
        "no-view",
        "no-user",
        "state-not-object",
        "metadata-not-json",
        "no-actions",
        "value-not-string",
        "shortcut-without-message",
        "command-without-user",
    ],
)
async def test_signed_but_malformed_does_nothing_and_says_one_line(
    harness: Harness,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    status = await post(harness, body, signed_bytes(body))
    assert status in (200, 400)
    assert "Traceback" not in caplog.text
    assert all(r.exc_info is None for r in caplog.records), caplog.text
    assert rows(harness, "select count(*) from delivery") == [(0,)]
    assert not harness.slack.calls_to("views.open")
