"""``xenocept run [--http --port N]``, ``check``, ``keys new|rotate``, ``db upgrade|current``;
``share PATH | --watch DIR`` for the desktop (``bot.share_client``); ``worker`` is the
outbox process ``run`` starts for itself."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web

from bot.app import XenoceptApp, create_app, key_file_for
from bot.check import check_key, run_checks
from bot.crypto import new_key
from bot.delivery.worker_process import WorkerProcess, serve_as_worker, worker_command
from bot.errors import SettingsError, ShareClientError, ShareStopped
from bot.keys import rotate_keys
from bot.operator import explain
from bot.settings import RunMode, Settings, ShareSettings, load_settings
from bot.share_client import (
    ShareState,
    checked_target,
    default_state_file,
    share_once,
    watch,
)
from storage import migrate
from storage.db import create_engine, redacted_url, sqlite_path

log = logging.getLogger("xenocept")


def port_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number (0–65535; 0 picks a free one)"
        )
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line and exit code 2, like every other operator mistake."""
        self.exit(2, f"xenocept: {message} (see `xenocept --help`)\n")


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="xenocept", description="Xenocept for Slack")
    root.add_argument(
        "--env-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="read settings from PATH instead of ./.env (the environment wins)",
    )
    root.add_argument(
        "--version", action="version", version=f"xenocept {metadata.version('xenocept-slack')}"
    )
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (Socket Mode unless --http)")
    run.add_argument("--http", action="store_true", help="serve Slack's HTTP requests")
    run.add_argument("--port", type=port_number, default=3000, help="HTTP port (default 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP bind address")  # noqa: S104
    keys = commands.add_parser("keys", help="encryption keys")
    keys.add_argument("action", choices=["new", "rotate"])
    check = commands.add_parser(
        "check", help="check settings, database, key and Slack; exit 0 when all pass, 1 if not"
    )
    check.add_argument("--http", action="store_true", help="check for `run --http`")
    db = commands.add_parser("db", help="database schema")
    db.add_argument(
        "action",
        choices=["upgrade", "current"],
        help="upgrade: migrate to this version's schema; current: show the revision",
    )
    commands.add_parser(
        "worker", help="the outbox process that `run` starts and stops itself (not by hand)"
    )
    _share_parser(commands)
    return root


def _share_parser(commands: Any) -> None:
    share = commands.add_parser(
        "share",
        help="post Xenocept sessions into Slack (on the desktop; key from /xenocept connect)",
    )
    what = share.add_mutually_exclusive_group(required=True)
    what.add_argument("path", nargs="?", type=Path, help="one session folder or .zip")
    what.add_argument(
        "--watch",
        type=Path,
        metavar="DIR",
        help="the folder Xenocept's File destination writes to: post each new session once",
    )
    share.add_argument("--server", help="the bot's address (or XENOCEPT_SHARE_SERVER)")
    share.add_argument("--key", help="your share key xsk_… (better: XENOCEPT_SHARE_KEY)")
    share.add_argument(
        "--to", help="#channel, or @me for your DM with the app (or XENOCEPT_SHARE_TO)"
    )
    share.add_argument(
        "--state", type=Path, metavar="FILE", help="--watch: where posted sessions are kept"
    )
    share.add_argument(
        "--interval", type=_seconds, default=2.0, help="--watch: seconds between looks (2)"
    )
    share.add_argument(
        "--include-existing",
        action="store_true",
        help="--watch: on the first run, post the sessions already in DIR too",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.05 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0.05–3600)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "keys" and args.action == "new":  # needs no settings at all
        print(new_key())
        return 0
    if args.command == "share":  # the desktop's command: none of the bot's settings
        return _share(args)
    settings: Settings | None = None
    try:
        settings = load_settings(env_file=args.env_file)
        _configure_logging(settings, args.command)
        if settings.ssl_cert_file is not None:  # from .env as well as the environment
            os.environ["SSL_CERT_FILE"] = str(settings.ssl_cert_file)
        if args.command == "keys":
            return _keys(args.action, settings)
        if args.command == "db":
            return asyncio.run(_db(args.action, settings))
        if args.command == "check":
            return _check(settings, RunMode.HTTP if args.http else RunMode.SOCKET)
        if args.command == "worker":
            asyncio.run(_work(settings))
            return 0
        mode = RunMode.HTTP if args.http else RunMode.SOCKET
        settings.require(mode)
        asyncio.run(_run(settings, mode, host=args.host, port=args.port, env_file=args.env_file))
    except KeyboardInterrupt:
        return 0
    except Exception as error:
        sentence = explain(
            error, settings, port=getattr(args, "port", None), host=getattr(args, "host", None)
        )
        if sentence is None:
            raise  # a bug: its traceback is what a report needs
        print(f"xenocept: {sentence}", file=sys.stderr)
        return 2
    return 0


# Libraries that narrate at INFO; the bot's own lines are the ones an operator needs.
QUIET_LIBRARIES = ("alembic", "aiosqlite", "asyncio", "slack_bolt", "slack_sdk", "aiohttp.access")


def _configure_logging(settings: Settings, command: str) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if command not in ("run", "worker"):  # one-shot commands print their result, quietly
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    for name in QUIET_LIBRARIES:
        if command != "db" or name != "alembic":  # Alembic's steps are the point of `db`
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def _share(args: argparse.Namespace) -> int:
    environment = ShareSettings()
    try:
        target = checked_target(
            args.server or environment.server,
            args.key or (environment.key.get_secret_value() if environment.key else None),
            args.to if args.to is not None else environment.to,
        )
        if args.path is not None:
            return asyncio.run(share_once(target, args.path))
        folder: Path = args.watch
        if not folder.is_dir():
            raise ShareClientError(f"{folder} is not a folder: give the one Xenocept's File "
                                   "destination writes to")  # fmt: skip
        state = ShareState(args.state or default_state_file(target, folder))
        print(f"watching {folder} for new sessions (Ctrl-C stops)", flush=True)
        asyncio.run(
            watch(
                target,
                folder,
                state,
                interval=args.interval,
                include_existing=args.include_existing,
                say=lambda line: print(line, flush=True),
            )
        )
    except KeyboardInterrupt:
        return 0
    except (ShareClientError, ShareStopped) as error:
        print(f"xenocept share: {error}", file=sys.stderr)
        return 2
    return 0


def _keys(action: str, settings: Settings) -> int:
    if action == "new":
        print(new_key())
        return 0
    count = asyncio.run(rotate_keys(settings))
    print(f"Re-encrypted {count} stored secret(s) under the newest key.")
    return 0


def _check(settings: Settings, mode: RunMode) -> int:
    results = asyncio.run(run_checks(settings, mode))
    for result in results:
        print(result.line())
    if not results[0].ok:  # settings, as `run` would refuse them
        return 2
    return 0 if all(result.ok for result in results) else 1


async def _db(action: str, settings: Settings) -> int:
    """``upgrade`` migrates (exit 0); ``current`` exits 0 when up to date, else 1."""
    engine = create_engine(settings.resolved_database_url())
    try:
        if action == "upgrade":
            before = await migrate.upgrade(engine)
            print(
                f"Database schema is at revision {before.head} (was {before.current or 'empty'})."
            )
            return 0
        found = await migrate.state(engine)
    finally:
        await engine.dispose()
    verdict = (
        "up to date"
        if found.up_to_date
        else "newer than this version of Xenocept: upgrade Xenocept here"
        if found.newer
        else "run `xenocept db upgrade`"
    )
    print(
        f"Database schema revision {found.current or 'none'}, this version needs "
        f"{found.head}: {verdict}."
    )
    return 0 if found.up_to_date else 1


async def _check_schema(settings: Settings) -> None:
    """Before anything starts: SQLite upgrades itself, other databases must be current."""
    engine = create_engine(settings.resolved_database_url())
    try:
        await migrate.prepare(engine)
    finally:
        await engine.dispose()


async def _preflight(settings: Settings) -> None:
    """Refuse to start on what would make every later send fail: the schema, and a key
    that cannot open what is stored (or a lost key file that would be silently remade)."""
    url = settings.resolved_database_url()
    if sqlite_path(url) is None and settings.secret_key is None:
        raise SettingsError(
            "XENOCEPT_SECRET_KEY is not set: on a shared database such as PostgreSQL every "
            "machine needs the same key, so a per-machine key file is not used; generate "
            "one with `xenocept keys new`."
        )
    await _check_schema(settings)
    engine = create_engine(url)
    try:
        key = await check_key(settings, engine)
    finally:
        await engine.dispose()
    if not key.ok:
        raise SettingsError(
            f"The encryption key cannot open the stored secrets: "
            f"{key.detail}. Configure the key that sealed them."
        )
    source = (
        "XENOCEPT_SECRET_KEY" if settings.secret_key else f"the key file {key_file_for(settings)}"
    )
    log.info("database %s; key from %s", redacted_url(url), source)


async def _run(
    settings: Settings, mode: RunMode, *, host: str, port: int, env_file: Path | None
) -> None:
    await _preflight(settings)
    app = create_app(settings)
    # Deliveries run in a child process: their CPU never delays an ack (issue 14).
    app.worker_process = WorkerProcess(worker_command(env_file))
    try:
        await app.start()
    except BaseException:
        await app.services.engine.dispose()
        raise
    _freeze_startup_objects()
    stop = _stop_on_signals()
    try:
        if mode is RunMode.HTTP:
            await _serve_http(app, host, port, stop)
        else:
            await _serve_socket_mode(app, settings, stop)
    finally:
        await app.stop()
    log.info("stopped")


async def _work(settings: Settings) -> None:
    """The outbox alone, for ``run``'s parent process (see ``worker_process``)."""
    app = create_app(settings, outbox_only=True)

    async def start() -> None:
        await app.start()
        _freeze_startup_objects()

    try:
        await serve_as_worker(start=start, wake=app.outbox.wake, stop=app.stop)
    finally:
        await app.services.engine.dispose()


def _freeze_startup_objects() -> None:
    """Leave what start-up built (modules, Bolt, SQLAlchemy's metadata) out of the garbage
    collector's full passes: each scanned all of it, ~100 ms in which no request was
    answered (measured, BENCHMARKS.md); after this one takes ~8 ms."""
    gc.collect()
    gc.freeze()


def _stop_on_signals() -> asyncio.Event:
    """SIGTERM (systemd, Docker, Kubernetes) and SIGINT both ask for a graceful stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):

        def asked(number: int = number) -> None:
            log.info(
                "%s received: finishing work in progress, then stopping",
                signal.Signals(number).name,
            )
            stop.set()

        loop.add_signal_handler(number, asked)
    return stop


async def _serve_http(app: XenoceptApp, host: str, port: int, stop: asyncio.Event) -> None:
    runner = web.AppRunner(app.web_app(), shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("serving Slack requests on http://%s:%d/slack/events", host, port)
        await stop.wait()
    finally:
        await runner.cleanup()  # no new requests; those in progress get their answer


async def _serve_socket_mode(app: XenoceptApp, settings: Settings, stop: asyncio.Event) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(app.slack, settings.slack_app_token.get_secret_value())
    log.info("connecting to Slack in Socket Mode")
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    raise SystemExit(main())
