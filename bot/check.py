"""``xenocept check``: is this installation ready to run? One line per check.

Checks, in order: settings for the run mode, the database (reachable, schema migrated),
the encryption key (present, decrypts a fresh sample and one stored secret per key id),
and Slack (``auth.test`` with the bot token; installing through OAuth, with every
installed workspace's own token). Exit code: 0 all passed, 1 a check failed,
2 settings missing or malformed (as for ``xenocept run``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.errors import SlackApiError

from bot.app import build_secret_box, key_file_for, slack_client
from bot.crypto import Sealed
from bot.destination_service import password_context
from bot.errors import SettingsError, XenoceptError
from bot.oauth import InstallationStore
from bot.settings import RunMode, Settings
from storage import destinations, installations, migrate
from storage.db import (
    Engine,
    create_engine,
    engine_kind,
    ping,
    session_factory,
    sqlite_path,
    transaction,
)
from storage.models import SealedPassword


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


async def run_checks(settings: Settings, mode: RunMode) -> list[Check]:
    results = [_settings(settings, mode)]
    url = settings.resolved_database_url()
    path = sqlite_path(url)
    engine: Engine | None = None
    # A check creates nothing, not even the file; a read-only one would fail at start.
    if path is not None and not _writable(path):
        database = Check(
            "database",
            False,
            f"{path} is read-only: the bot must write its file and folder (journal, WAL)",
        )
    elif path is not None and not path.exists():
        database = Check("database", True, f"none yet: {path} is created at first run")
    else:
        engine = create_engine(url)
    try:
        if engine is not None:
            database = await _database(engine)
        usable = engine if database.ok else None
        results.append(database)
        results.append(await check_key(settings, usable))
        results.append(
            await _installations(settings, usable)
            if settings.installs_through_oauth
            else await _slack(settings)
        )
    finally:
        if engine is not None:
            await engine.dispose()
    return results


def _writable(path: Path) -> bool:
    """The file (if there) and the nearest existing folder accept writes."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _settings(settings: Settings, mode: RunMode) -> Check:
    try:
        settings.require(mode)
    except SettingsError as error:
        return Check("settings", False, str(error))
    return Check("settings", True, f"complete for {mode.value} mode")


async def _database(engine: Engine) -> Check:
    kind = engine_kind(engine)
    try:
        await ping(engine)
        state = await migrate.state(engine)
    except Exception as error:  # any driver's connection error: say which, no traceback
        return Check(
            "database",
            False,
            f"cannot reach the {kind} database "
            f"({type(error).__name__}: {str(error).splitlines()[0][:200]})",
        )
    if state.up_to_date:
        return Check("database", True, f"{kind} reachable, schema at revision {state.head}")
    if kind == "sqlite":
        return Check(
            "database",
            True,
            f"{kind} reachable, schema at "
            f"{state.current or 'nothing'}: upgrades itself to {state.head} at start",
        )
    return Check(
        "database",
        False,
        f"{kind} reachable, schema at {state.current or 'nothing'}"
        f", this version needs {state.head}: run `xenocept db upgrade`",
    )


async def check_key(settings: Settings, engine: Engine | None) -> Check:
    if settings.secret_key is None and not key_file_for(settings).exists():
        stored = await _stored_samples(engine) if engine is not None else []
        if stored:
            return Check(
                "key",
                False,
                f"no key: XENOCEPT_SECRET_KEY is unset and "
                f"{key_file_for(settings)} is missing, yet secrets are stored",
            )
        return Check("key", True, f"none yet: {key_file_for(settings)} is created at first run")
    try:
        box = build_secret_box(settings)
        sample = box.seal("xenocept check", context="check")
        assert box.open(sample, context="check", label="sample") == "xenocept check"
        samples = await _stored_samples(engine) if engine is not None else []
        for kept in samples:
            box.open(
                Sealed(kept.key_id, kept.ciphertext),
                context=password_context(kept.destination_id),
                label=kept.destination_name,
            )
    except XenoceptError as error:
        return Check("key", False, str(error))
    rotate = (
        " (run `xenocept keys rotate`)"
        if any(box.needs_rotation(Sealed(stored.key_id, b"")) for stored in samples)
        else ""
    )
    return Check(
        "key",
        True,
        f"key {box.current_key_id} decrypts a sample and "
        f"{len(samples)} stored secret(s), one per key id{rotate}",
    )


async def _stored_samples(engine: Engine) -> list[SealedPassword]:
    """One stored destination per key id (proves each key in use is still configured)."""
    try:
        async with transaction(session_factory(engine)) as db:
            return await destinations.one_password_per_key_for_operator(db=db)
    except Exception:  # tables not there yet: nothing stored
        return []


async def _installations(settings: Settings, engine: Engine | None) -> Check:
    """Installs through OAuth: auth.test with every workspace's own (decrypted) token."""
    if engine is None:
        return Check("slack", False, "no database: cannot read the installations")
    try:
        store = InstallationStore(database=session_factory(engine), box=build_secret_box(settings))
        async with transaction(session_factory(engine)) as db:
            rows = await installations.all_installations_for_operator(db=db)
        failed = []
        for row in rows:
            answer = await _auth_test(settings, store.token_of(row))
            if answer is not None:
                failed.append(f"{row.team_name or row.team_id or row.enterprise_id}: {answer}")
    except XenoceptError as error:
        return Check("slack", False, str(error))
    if failed:
        return Check(
            "slack",
            False,
            f"auth.test failed for {len(failed)} of {len(rows)} "
            f"workspace(s): {'; '.join(failed[:5])}",
        )
    if not rows:
        return Check(
            "slack", True, "OAuth installs: no workspace yet, send installers to /slack/install"
        )
    return Check("slack", True, f"OAuth installs: auth.test ok for all {len(rows)} workspace(s)")


async def _auth_test(settings: Settings, token: str) -> str | None:
    """None when the token works, else why not."""
    try:
        await slack_client(settings).auth_test(token=token)
    except SlackApiError as error:
        return str(error.response.get("error"))
    except Exception as error:  # network trouble
        return f"cannot reach Slack ({type(error).__name__})"
    return None


async def _slack(settings: Settings) -> Check:
    if settings.slack_bot_token is None:
        return Check("slack", False, "SLACK_BOT_TOKEN is not set: nothing to call auth.test with")
    try:
        answer = await slack_client(settings).auth_test()
    except SlackApiError as error:
        return Check(
            "slack", False, f"auth.test refused the bot token: {error.response.get('error')}"
        )
    except Exception as error:  # network trouble
        return Check("slack", False, f"cannot reach Slack ({type(error).__name__})")
    return Check(
        "slack",
        True,
        f"auth.test ok: team {answer.get('team_id')}, bot user {answer.get('user_id')}",
    )
