from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.commands.xenocept import xenocept_command
from bot.listeners.tasks import ListenerTasks

COMMANDS = {ids.COMMAND: xenocept_command}


def register(app: AsyncApp, tasks: ListenerTasks) -> None:
    for command, handler in COMMANDS.items():
        app.command(command)(tasks.track(handler))
