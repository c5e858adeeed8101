"""``POST /xenocept/v1/sessions`` through the real app: what lands in Slack, and what is
refused with which status and sentence (nothing posted, nothing recorded)."""

from __future__ import annotations

import io
import json
import operator
import zipfile
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from bot import share_http, share_service
from bot.render.session import MAX_ZIP_ENTRIES
from bot.share_keys import new_share_key
from bot.slackdata import uploads
from storage import share
from storage.db import transaction
from storage.models import Owner
from tests.support.harness import BOB, JANE, Harness
from tests.support.send_flow import rows, set_policy
from tests.support.share_flow import (
    QA,
    SESSION_ID,
    connect,
    qa_channel,
    session_files,
    shared_messages,
    upload,
    zipped,
)
from tests.support.slack_limits import payload_problems


def texts(message: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for block in message.get("blocks", []):
        if block["type"] == "section":
            found.append(block["text"]["text"])
        elif block["type"] == "context":
            found += [element["text"] for element in block["elements"]]
    return found


def nothing_shared(harness: Harness) -> bool:
    return not harness.slack.shared_files and rows(
        harness, "select count(*) from sharedsession"
    ) == [(0,)]


async def test_a_folder_becomes_one_message_that_reads_like_the_session(
    harness: Harness,
) -> None:
    key = await connect(harness)
    qa_channel(harness)
    files = session_files(notes=2, clean=True)

    status, body = await upload(harness, key, files)

    assert status == 202, body
    [message] = shared_messages(harness)
    assert body == {
        "ok": True,
        "permalink": f"https://example.slack.com/archives/{QA}/p{message['ts'].replace('.', '')}",
        "channel": QA,
        "session_id": SESSION_ID,
        "again": False,
    }
    shown = texts(message)
    assert shown[0] == "*Step 1: the Pay button does nothing on Safari*"
    assert shown[1].startswith(f"📸 Xenocept session shared by <@{JANE}> · <!date^")
    assert "*Note 2* · focus-1.png below\nStep 2: the Pay button does nothing on Safari" in shown
    assert "*Bubbles*\n• Clicked here" in shown and "*Texts*\n• Build 4.2.1" in shown
    [button] = message["blocks"][-1]["elements"]
    assert button["text"]["text"] == "Email me"
    # The files, screenshot first, each Note's image titled by its Note, the bytes as sent.
    sent = {f["name"]: f for f in message["files"]}
    assert [f["name"] for f in message["files"]] == [
        "screenshot.png", "focus-0.png", "focus-1.png", "screenshot-clean.png", "session.json",
    ]  # fmt: skip
    assert sent["focus-1.png"]["title"] == "Note 2: Step 2: the Pay button does nothing on Safari"
    for entry in harness.slack.shared_files:
        name = next(f["name"] for f in message["files"] if f["id"] == entry["id"])
        assert entry["content"] == files[name]
    assert payload_problems(harness.slack) == []
    [(used,)] = rows(harness, "select last_used_at from sharekey")
    assert used is not None


async def test_a_zip_is_posted_like_its_folder(harness: Harness) -> None:
    key = await connect(harness)
    qa_channel(harness)
    files = session_files(notes=1)

    status, body = await upload(harness, key, zip_content=zipped(files))

    assert status == 202, body
    [message] = shared_messages(harness)
    assert [f["name"] for f in message["files"]] == [
        "screenshot.png",
        "focus-0.png",
        "session.json",
    ]


async def test_more_files_than_a_message_shows_go_as_the_screenshot_and_one_zip(
    harness: Harness,
) -> None:
    key = await connect(harness)
    qa_channel(harness)
    files = session_files(notes=12)

    status, _ = await upload(harness, key, files)

    assert status == 202
    [message] = shared_messages(harness)
    assert [f["name"] for f in message["files"]] == ["screenshot.png", f"{SESSION_ID}.zip"]
    archive = zipfile.ZipFile(io.BytesIO(harness.slack.shared_files[1]["content"]))
    assert sorted(archive.namelist()) == sorted(f"{SESSION_ID}/{n}" for n in files)
    assert len([t for t in texts(message) if t.startswith("*Note ")]) == 12
    assert payload_problems(harness.slack) == []


async def test_the_same_session_again_answers_with_the_first_post(harness: Harness) -> None:
    key = await connect(harness)
    qa_channel(harness)
    files = session_files()
    _, first = await upload(harness, key, files)

    status, again = await upload(harness, key, zip_content=zipped(files))

    assert status == 200
    assert again == {**first, "again": True}
    assert len(shared_messages(harness)) == 1


async def test_no_channel_means_the_sharers_dm_with_the_app(harness: Harness) -> None:
    key = await connect(harness)
    for n, to in enumerate(("@me", "")):
        status, body = await upload(
            harness, key, session_files(session_id=f"{SESSION_ID[:-1]}{n}"), to=to
        )
        assert status == 202 and body["channel"] == f"D{JANE}"
    assert len(shared_messages(harness, f"D{JANE}")) == 2


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-key",
        f"Bearer xsk_{'0' * 32}_{'A' * 43}",  # well formed, never made
    ],
)
async def test_a_missing_or_forged_key_is_refused(
    harness: Harness, authorization: str | None
) -> None:
    await connect(harness)
    qa_channel(harness)
    status, body = await upload(harness, None, session_files(), authorization=authorization)
    assert status == 401
    assert body == {
        "ok": False,
        "error": "That share key is not valid (revoked, mistyped, or never made): make a new "
        "one with /xenocept connect in Slack.",
    }
    assert nothing_shared(harness)


async def test_the_right_id_with_another_secret_is_refused(harness: Harness) -> None:
    key = await connect(harness)
    qa_channel(harness)
    forged = key[:-43] + new_share_key().text[-43:]
    status, _ = await upload(harness, forged, session_files())
    assert status == 401 and nothing_shared(harness)


async def test_each_key_posts_as_its_own_owner(harness: Harness) -> None:
    await connect(harness, user=JANE)
    bobs = await connect(harness, user=BOB, label="Bob's laptop")
    qa_channel(harness)

    status, _ = await upload(harness, bobs, session_files())

    assert status == 202
    [message] = shared_messages(harness)
    assert f"shared by <@{BOB}>" in texts(message)[1]
    assert rows(harness, "select user_id from sharedsession") == [(BOB,)]


async def test_a_deactivated_sharer_is_refused_and_their_keys_go(harness: Harness) -> None:
    key = await connect(harness)
    qa_channel(harness)
    harness.slack.users[JANE]["deleted"] = True

    status, _ = await upload(harness, key, session_files())

    assert status == 401 and nothing_shared(harness)
    assert rows(harness, "select count(*) from sharekey") == [(0,)]


@pytest.mark.parametrize(
    ("to", "setup", "sentence"),
    [
        (
            "#qa",
            "bot-out",
            "Xenocept is not in #qa: type `/invite @Xenocept` in #qa, then share again.",
        ),
        (
            "#qa",
            "user-out",
            "You are not a member of #qa, so you cannot share into it: join it first.",
        ),
        (
            "#nowhere",
            "",
            "There is no channel #nowhere that Xenocept can see: check the name, and if it is "
            "private, type `/invite @Xenocept` in it.",
        ),
    ],
)
async def test_a_channel_the_bot_or_the_sharer_is_not_in_is_refused(
    harness: Harness, to: str, setup: str, sentence: str
) -> None:
    key = await connect(harness)
    qa_channel(harness, bot_is_member=setup != "bot-out")
    if setup == "user-out":
        harness.slack.members[QA] = [BOB]
    status, body = await upload(harness, key, session_files(), to=to)
    assert (status, body) == (403, {"ok": False, "error": sentence})
    assert nothing_shared(harness)


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{SESSION_ID}/session.json", json.dumps({"id": SESSION_ID}))
        archive.writestr(f"{SESSION_ID}/screenshot.png", b"\x89PNG\r\n\x1a\n" + bytes(61 << 20))
    return buffer.getvalue()


def _many_entries() -> bytes:
    files = session_files(notes=0)
    files.update({f"extra-{i}.txt": b"x" for i in range(MAX_ZIP_ENTRIES)})
    return zipped(files)


HOSTILE: dict[str, tuple[dict[str, bytes] | None, bytes | None, str]] = {
    "traversal file name": (
        {**session_files(notes=0), "../focus-0.png": b"\x89PNG\r\n\x1a\n"},
        None,
        "is not a plain file name",
    ),
    "traversal in session.json": (
        {
            **session_files(notes=0),
            "session.json": json.dumps(
                {"id": SESSION_ID, "screenshot": "../../etc/passwd"}
            ).encode(),
        },
        None,
        '"screenshot" is not a plain file name',
    ),
    "not a PNG": (
        {**session_files(notes=1), "focus-0.png": b"GIF89a not a png"},
        None,
        "focus-0.png is not a PNG image",
    ),
    "clean screenshot not a PNG": (
        {**session_files(notes=0), "screenshot-clean.png": b"<svg/>"},
        None,
        "screenshot-clean.png is not a PNG image",
    ),
    "a named file missing": (
        {k: v for k, v in session_files(notes=2).items() if k != "focus-1.png"},
        None,
        "session.json names focus-1.png, which was not sent",
    ),
    "bad id": (
        {**session_files(notes=0), "session.json": json.dumps({"id": "../x"}).encode()},
        None,
        '"id" is not a Xenocept session id',
    ),
    "not JSON": ({"session.json": b"{nope", "screenshot.png": b""}, None, "not valid JSON"),
    "zip bomb": (None, _bomb(), "the zip unpacks to more than the allowed size"),
    "too many entries": (None, _many_entries(), f"more than {MAX_ZIP_ENTRIES} entries"),
    "zip in a zip": (None, zipped({"inner.zip": zipped(session_files())}), "no session.json"),
    "not a zip": (None, b"PK\x03\x04 truncated", "no session.json"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_malformed_and_hostile_sessions_are_refused(harness: Harness, case: str) -> None:
    files, zip_content, reason = HOSTILE[case]
    key = await connect(harness)
    qa_channel(harness)
    status, body = await upload(harness, key, files, zip_content=zip_content)
    assert status == 422, body
    assert body["error"].startswith("This is not a Xenocept session Slack can show: ")
    assert reason in body["error"]
    assert nothing_shared(harness)


async def test_too_big_is_refused_before_it_is_all_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await connect(harness)
    qa_channel(harness)
    status, body = await upload(harness, key, {**session_files(), "session.json": b" " * (6 << 20)})
    assert (status, body["error"]) == (413, "session.json is larger than the 5.2 MB allowed.")
    monkeypatch.setattr(share_http, "MAX_UPLOAD_BYTES", 2 << 20)
    files = {**session_files(notes=0), "screenshot.png": b"\x89PNG\r\n\x1a\n" + bytes(3 << 20)}
    status, body = await upload(harness, key, files)
    assert status == 413
    assert body["error"].startswith("This session is larger than the 2.1 MB one upload")
    assert nothing_shared(harness)


async def test_sharing_turned_off_by_an_admin_refuses_keys_and_uploads(
    harness: Harness,
) -> None:
    key = await connect(harness)
    qa_channel(harness)
    await set_policy(harness, allow_sharing=False)

    status, body = await upload(harness, key, session_files())

    assert status == 403 and "does not allow sharing sessions" in body["error"]
    assert nothing_shared(harness)
    status, answer = await harness.command("connect")
    assert status == 200 and "does not allow sharing" in answer["text"]
    assert rows(harness, "select count(*) from sharekey") == [(1,)]


async def test_each_key_has_an_hourly_limit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(share_service, "SHARES_PER_HOUR", 2)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    key = await connect(harness)
    qa_channel(harness)
    statuses = []
    for n, minute in enumerate((0, 20, 40)):
        harness.app.services.clock = partial(operator.add, start, timedelta(minutes=minute))
        status, body = await upload(harness, key, session_files(session_id=f"{SESSION_ID[:-1]}{n}"))
        statuses.append(status)
    assert statuses == [202, 202, 429]
    assert body["error"] == (
        "This key shared 2 sessions in the last hour, the most allowed: try again in 20 min."
    )
    assert len(shared_messages(harness)) == 2
    # Refused before the body is read: even an unreadable one gets the limit's answer.
    status, _ = await upload(harness, key, {"session.json": b"{"})
    assert status == 429
    # An hour after the first, there is room for one more.
    harness.app.services.clock = lambda: start + timedelta(minutes=61)
    status, _ = await upload(harness, key, session_files(session_id=f"{SESSION_ID[:-1]}2"))
    assert status == 202 and len(shared_messages(harness)) == 3


async def test_slack_refusing_the_upload_posts_nothing_and_a_retry_posts_once(
    harness: Harness,
) -> None:
    key = await connect(harness)
    qa_channel(harness)
    harness.slack.fail_next("files.completeUploadExternal", error="internal_error")

    status, body = await upload(harness, key, session_files())

    assert status == 502 and "internal_error" in body["error"]
    assert rows(harness, "select count(*) from sharedsession") == [(0,)]
    status, _ = await upload(harness, key, session_files())
    assert status == 202 and len(shared_messages(harness)) == 1


async def test_a_body_that_is_not_multipart_is_refused(harness: Harness) -> None:
    key = await connect(harness)
    response = await harness.http.post(
        share_http.SESSIONS_PATH,
        data=b'{"session": 1}',
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert response.status == 415
    assert "multipart/form-data" in (await response.json())["error"]


async def test_a_post_slack_has_not_placed_yet_is_still_posted_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploads, "SHARE_WAITS", (0.01, 0.01))  # stop asking sooner
    key = await connect(harness)
    qa_channel(harness)
    harness.slack.shares_hidden = True  # files.info never says where the share went
    start = datetime.now(UTC)
    harness.app.services.clock = lambda: start

    status, body = await upload(harness, key, session_files())

    assert (status, body["permalink"]) == (202, None)
    harness.app.services.clock = lambda: start + timedelta(hours=2)
    status, body = await upload(harness, key, session_files())
    assert (status, body["again"]) == (200, True)
    assert len(shared_messages(harness)) == 1


async def test_a_post_cut_short_by_a_stopped_bot_is_taken_over_once_stale(
    harness: Harness,
) -> None:
    key = await connect(harness)
    qa_channel(harness)
    start = datetime.now(UTC)
    [(key_id,)] = rows(harness, "select id from sharekey")
    async with transaction(harness.app.services.database) as db:  # the claim a stop left
        await share.claim_share(
            db=db,
            owner=Owner(team_id=harness.requests.team_id, user_id=JANE),
            key_id=str(key_id),
            channel_id=QA,
            session_id=SESSION_ID,
            at=start,
        )
    harness.app.services.clock = lambda: start + timedelta(seconds=30)
    status, body = await upload(harness, key, session_files())
    assert (status, body["again"]) == (200, True) and shared_messages(harness) == []

    harness.app.services.clock = lambda: start + timedelta(minutes=3)
    status, body = await upload(harness, key, session_files())
    assert status == 202 and len(shared_messages(harness)) == 1
    assert rows(harness, "select count(*) from sharedsession") == [(1,)]
