from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.commands.xenocept import xenocept_command

COMMANDS = {ids.COMMAND: xenocept_command}


def register(app: AsyncApp) -> None:
    for command, handler in COMMANDS.items():
        app.command(command)(handler)
