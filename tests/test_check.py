"""`xenocept check`: settings, database, key, Slack; exit 0 / 1 / 2 with one line per check."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot.check import run_checks
from bot.crypto import new_key
from bot.settings import RunMode
from tests.conftest import make_settings, sqlite_url
from tests.listeners.test_destination_lifecycle import add_icloud
from tests.support.harness import Harness
from tests.support.postgres import PostgresServer
from tests.support.slack_standin import SlackStandIn

REPO = Path(__file__).resolve().parent.parent


async def xenocept(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """The CLI in a real process, without blocking this loop (the stand-ins live on it)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(REPO), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def environment(slack: SlackStandIn, url: str, key: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_API_URL": slack.api_url,
        "XENOCEPT_DATABASE_URL": url,
        "XENOCEPT_SECRET_KEY": key,
    }


async def test_all_good_exits_0_one_line_per_check(slack: SlackStandIn, tmp_path: Path) -> None:
    env = environment(slack, sqlite_url(tmp_path), new_key())
    code, out, err = await xenocept("check", "--http", env=env, cwd=tmp_path)
    assert code == 0, out + err
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   settings",
        "ok   database",
        "ok   key",
        "ok   slack",
    ]
    assert "T111" in lines[3] and "Traceback" not in err


async def test_missing_settings_exit_2(slack: SlackStandIn, tmp_path: Path) -> None:
    env = environment(slack, sqlite_url(tmp_path), new_key())
    code, out, _ = await xenocept("check", env=env, cwd=tmp_path)  # Socket Mode: no app token
    assert code == 2 and out.startswith("FAIL settings: SLACK_APP_TOKEN is not set")


async def test_each_failure_is_named_and_exits_1(
    harness: Harness,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    await add_icloud(harness)  # a stored secret under the harness's key
    await harness.smtp.wait_for_messages(1)
    settings = make_settings(
        tmp_path, slack, XENOCEPT_SECRET_KEY=new_key(), SLACK_BOT_TOKEN="xoxb-revoked"
    )
    results = {check.name: check for check in await run_checks(settings, RunMode.HTTP)}
    assert results["settings"].ok and results["database"].ok
    assert not results["key"].ok and "'iCloud'" in results["key"].detail
    assert not results["slack"].ok and "invalid_auth" in results["slack"].detail

    unreachable = make_settings(
        tmp_path, slack, XENOCEPT_DATABASE_URL=("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    )
    results = {check.name: check for check in await run_checks(unreachable, RunMode.HTTP)}
    assert (
        not results["database"].ok and "cannot reach the postgresql" in results["database"].detail
    )


async def test_an_unmigrated_postgresql_says_what_to_run(
    postgres: PostgresServer,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    with postgres.database(migrated=False) as url:
        settings = make_settings(tmp_path, slack, XENOCEPT_DATABASE_URL=url)
        [_, database, key, _] = await run_checks(settings, RunMode.HTTP)
    assert not database.ok and "run `xenocept db upgrade`" in database.detail
    assert key.ok


@pytest.mark.parametrize("stored", [False, True])
async def test_a_missing_key_file(
    tmp_path: Path, slack: SlackStandIn, stored: bool, harness: Harness
) -> None:
    if stored:
        await add_icloud(harness)
        await harness.smtp.wait_for_messages(1)
    settings = make_settings(
        tmp_path,
        slack,
        XENOCEPT_SECRET_KEY="",
        XENOCEPT_KEY_FILE=str(tmp_path / "nowhere" / "x.key"),
    )
    [_, _, key, _] = await run_checks(settings, RunMode.HTTP)
    assert key.ok is not stored
    assert not (tmp_path / "nowhere").exists()  # a check creates nothing
