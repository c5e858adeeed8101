from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.commands.xenocept import xenocept_command


def register(app: AsyncApp) -> None:
    app.command(ids.COMMAND)(xenocept_command)
