"""A real full disk: the bot's SQLite file on a small tmpfs, filled to the last byte."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from bot import ids
from bot.settings import Settings
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.harness import Harness, running_app
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.send_flow import add_destination, open_send_modal, rows, send_values
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "small"
    folder.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        # Mounting needs root with CAP_SYS_ADMIN; the fault-injected twin in test_outages
        # covers the same path everywhere.
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
async def harness_on_small_disk(
    small_disk: Path,
    tmp_path: Path,
    slack: SlackStandIn,
    icloud: ICloudLikeServer,
    ca: trustme.CA,
) -> AsyncIterator[Harness]:
    database = small_disk / "xenocept.db"
    settings: Settings = make_settings(
        tmp_path,
        slack,
        XENOCEPT_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        XENOCEPT_KEY_FILE=str(tmp_path / "xenocept.key"),
    )
    async with running_app(settings, ca) as (app, http):
        yield Harness(
            app=app,
            http=http,
            slack=slack,
            smtp=icloud,
            requests=SlackRequests(SIGNING_SECRET),
            database_path=database,
        )


def fill(folder: Path) -> Path:
    """Take every free byte of the filesystem holding ``folder``."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


async def test_a_send_submitted_on_a_full_disk_says_so_and_keeps_nothing(
    harness_on_small_disk: Harness,
    small_disk: Path,
) -> None:
    harness = harness_on_small_disk
    await add_destination(harness)
    harness.slack.add_channel("C0GEN", name="general")
    message = {"type": "message", "user": "U0JANE", "ts": "1700000000.000100", "text": "hi"}
    view = await open_send_modal(harness, message, channel_id="C0GEN", channel_name="general")
    filler = fill(small_disk)
    status, body = await harness.submit(view, send_values(view, note="x" * 3000))
    assert status == 200 and body["response_action"] == "errors", body
    assert "Nothing was saved" in body["errors"][ids.BLOCK_SEND_DESTINATION]
    filler.unlink()  # space again: the same submit now goes through
    status, body = await harness.submit(view, send_values(view))
    assert (status, body) == (200, "")
    assert rows(harness, "select count(*) from delivery where kind = 'SESSION'") == [(1,)]
