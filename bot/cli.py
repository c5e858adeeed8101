"""``xenocept run [--http --port N]`` and ``xenocept keys new|rotate``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from bot.app import XenoceptApp, create_app
from bot.crypto import new_key
from bot.errors import SettingsError
from bot.keys import rotate_keys
from bot.settings import RunMode, Settings, load_settings

log = logging.getLogger("xenocept")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="xenocept", description="Xenocept for Slack")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (Socket Mode unless --http)")
    run.add_argument("--http", action="store_true", help="serve Slack's HTTP requests")
    run.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP bind address")  # noqa: S104
    keys = commands.add_parser("keys", help="encryption keys")
    keys.add_argument("action", choices=["new", "rotate"])
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if args.command == "keys":
            return _keys(args.action, settings)
        mode = RunMode.HTTP if args.http else RunMode.SOCKET
        settings.require(mode)
        asyncio.run(_run(settings, mode, host=args.host, port=args.port))
    except SettingsError as error:
        print(f"xenocept: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def _keys(action: str, settings: Settings) -> int:
    if action == "new":
        print(new_key())
        return 0
    count = asyncio.run(rotate_keys(settings))
    print(f"Re-encrypted {count} stored secret(s) under the newest key.")
    return 0


async def _run(settings: Settings, mode: RunMode, *, host: str, port: int) -> None:
    app = create_app(settings)
    await app.start()
    try:
        if mode is RunMode.HTTP:
            await _serve_http(app, host, port)
        else:
            await _serve_socket_mode(app, settings)
    finally:
        await app.stop()


async def _serve_http(app: XenoceptApp, host: str, port: int) -> None:
    runner = web.AppRunner(app.web_app())
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("serving Slack requests on http://%s:%d/slack/events", host, port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def _serve_socket_mode(app: XenoceptApp, settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(app.slack, settings.slack_app_token.get_secret_value())
    log.info("connecting to Slack in Socket Mode")
    await handler.start_async()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    raise SystemExit(main())
