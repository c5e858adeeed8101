"""`xenocept keys rotate` re-encrypts every secret; destinations keep working."""

from __future__ import annotations

from pathlib import Path

import trustme

from bot.crypto import key_id_of, new_key, parse_key
from bot.keys import rotate_keys
from tests.conftest import make_settings
from tests.listeners.test_destination_lifecycle import add_icloud, rows
from tests.support.harness import Harness, running_app


async def test_rotation_keeps_every_destination_usable(
    harness: Harness, tmp_path: Path, ca: trustme.CA
) -> None:
    await add_icloud(harness)
    await add_icloud(harness, name="Work", to="work@example.com")
    await harness.smtp.wait_for_messages(2)
    old = harness.app.services.settings.secret_key
    assert old is not None
    await harness.app.stop()

    newest = new_key()
    both = make_settings(
        tmp_path, harness.slack, XENOCEPT_SECRET_KEY=f"{newest},{old.get_secret_value()}"
    )
    assert await rotate_keys(both) == 2
    assert await rotate_keys(both) == 0  # nothing left under the old key
    newest_id = key_id_of(parse_key(newest, source="test"))
    assert rows(harness, "select distinct secret_key_id from destination") == [(newest_id,)]

    only_new = make_settings(tmp_path, harness.slack, XENOCEPT_SECRET_KEY=newest)
    async with running_app(only_new, ca) as (harness.app, harness.http):
        await harness.command("test Work")
        received = await harness.smtp.wait_for_messages(3)
        assert received[2].rcpt_tos == ["work@example.com"]


async def test_a_lost_key_is_reported_naming_the_destination(
    harness: Harness, tmp_path: Path, ca: trustme.CA
) -> None:
    await add_icloud(harness)
    await harness.smtp.wait_for_messages(1)
    await harness.app.stop()
    other = make_settings(tmp_path, harness.slack, XENOCEPT_SECRET_KEY=new_key())
    async with running_app(other, ca) as (harness.app, harness.http):
        await harness.command("test iCloud")
        report = await harness.slack.wait_for(
            "chat.update", lambda c: "cannot be read" in str(c.params.get("text"))
        )
        assert "'iCloud'" in str(report.params["text"])
        assert len(harness.smtp.received) == 1
