"""`xenocept run` in Socket Mode: a real process connects, takes an envelope, acks it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bot.crypto import new_key
from tests.support.harness import JANE
from tests.support.slack_standin import SlackStandIn

REPO = Path(__file__).resolve().parent.parent


async def test_socket_mode_answers_a_slash_command(tmp_path: Path, slack: SlackStandIn) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.api_url,
        "XENOCEPT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "XENOCEPT_SECRET_KEY": new_key(),
        "XENOCEPT_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: ASYNC220 (the real process is the point)
        [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path
    )
    try:
        await slack.socket_envelopes.put(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "token": "x",
                    "team_id": "T111",
                    "team_domain": "example",
                    "channel_id": "C111",
                    "channel_name": "general",
                    "user_id": JANE,
                    "user_name": "jane",
                    "command": "/xenocept",
                    "text": "help",
                    "api_app_id": "A111",
                    "trigger_id": "1.2.3",
                    "response_url": slack.response_url(),
                },
            }
        )
        reply = await slack.wait_for_socket_reply("env-1", timeout=30)
    finally:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 20) == 0  # SIGTERM: a graceful stop
    assert "app-specific password" in str(reply["payload"]["blocks"])
    assert "apps.connections.open" in [c.method for c in slack.calls]
