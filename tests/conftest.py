"""Shared fixtures: real SMTP server, Slack stand-in, SQLite file, the app over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from bot.crypto import new_key
from bot.settings import Settings
from tests.support.harness import (
    APPLE_ID_PASSWORD,
    ASP,
    BOB,
    JANE,
    JANE_ALIAS,
    JANE_LOGIN,
    Harness,
    running_app,
)
from tests.support.icloud_smtpd import Account, ICloudLikeServer
from tests.support.postgres import PostgresServer, find_binaries
from tests.support.slack_limits import payload_problems
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn

SIGNING_SECRET = "test-signing-secret-0123456789"
ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SLACK_*/XENOCEPT_* from the developer's shell, and no .env from the repo."""
    import os

    for name in list(os.environ):
        if name.startswith(("SLACK_", "XENOCEPT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
async def icloud(ca: trustme.CA) -> AsyncIterator[ICloudLikeServer]:
    jane = Account(
        login=JANE_LOGIN, asp=ASP, senders={JANE_ALIAS}, apple_id_passwords={APPLE_ID_PASSWORD}
    )
    bob = Account(login="bob@icloud.com", asp="qrst-uvwx-yzab-cdef")
    async with ICloudLikeServer(ca=ca, accounts=[jane, bob]) as server:
        yield server


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        standin.scopes = manifest_bot_scopes()  # the installed app has what manifest.yml asks
        standin.add_user(
            JANE, name="jane", display_name="Jane Doe", real_name="Jane Doe", tz="Europe/Berlin"
        )
        standin.add_user(
            BOB, name="bob", display_name="Bob", real_name="Bob Stone", tz="America/New_York"
        )
        yield standin
        # Every end-to-end test: nothing the app sent may break Slack's documented limits.
        problems = payload_problems(standin)
        assert not problems, "payloads beyond Slack's limits:\n" + "\n".join(problems)


def manifest_bot_scopes() -> set[str]:
    manifest = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text())
    return set(manifest["oauth_config"]["scopes"]["bot"])


def make_settings(tmp_path: Path, slack: SlackStandIn, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "XENOCEPT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'xenocept.db'}",
        "XENOCEPT_SECRET_KEY": new_key(),
        "XENOCEPT_SMTP_ALLOW_HOSTS": "127.0.0.1",
        "XENOCEPT_SMTP_TIMEOUT": 5,
        "XENOCEPT_RETRY_BASE_SECONDS": 0.05,
        "XENOCEPT_RETRY_MAX_ATTEMPTS": 4,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, slack: SlackStandIn) -> Settings:
    return make_settings(tmp_path, slack)


@pytest.fixture
async def harness(
    settings: Settings,
    slack: SlackStandIn,
    icloud: ICloudLikeServer,
    ca: trustme.CA,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    async with running_app(settings, ca) as (app, http):
        yield Harness(
            app=app,
            http=http,
            slack=slack,
            smtp=icloud,
            requests=SlackRequests(SIGNING_SECRET),
            database_path=tmp_path / "data" / "xenocept.db",
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this session (this xdist worker), started on demand."""
    import os

    binaries = find_binaries()
    if binaries is None:
        reason = (
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed under "
            "/usr/lib/postgresql/*/bin: apt-get install postgresql"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run these tests)")
        pytest.skip(reason)
    server = PostgresServer(binaries)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'xenocept.db'}"


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty-of-rows, migrated database on each engine (SQLite file, PostgreSQL)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database() as url:
        yield url
