"""The floor for ack latency: a bare slack-bolt AsyncApp whose listeners only ack.

The same server stack as ``xenocept run --http``, built by the same function
(``bot.web.slack_web_app``: the signature checked on the raw bytes, then Bolt) behind an
aiohttp ``AppRunner``/``TCPSite`` on 127.0.0.1, the same signing secret and bot token (so
Bolt's single-team authorization does its one ``auth.test`` against the stand-in too),
and listeners for the same command, shortcut, modal and event the bench sends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.web import slack_web_app


def bare_app() -> AsyncApp:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    )
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    async def only_ack(ack: AsyncAck, **_: Any) -> None:
        await ack()

    app.command(ids.COMMAND)(only_ack)
    app.shortcut(ids.SHORTCUT_SEND_TO_EMAIL)(only_ack)
    app.view(ids.VIEW_SEND_FORM)(only_ack)
    app.event("reaction_added")(only_ack)
    return app


async def serve(port: int) -> None:
    application = slack_web_app(bare_app(), signing_secret=os.environ["SLACK_SIGNING_SECRET"])
    runner = web.AppRunner(application)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT is how the bench stops it
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
