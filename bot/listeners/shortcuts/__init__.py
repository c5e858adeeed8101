from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.shortcuts.add_destination import add_destination_shortcut
from bot.listeners.shortcuts.send_to_email import send_to_email_shortcut
from bot.listeners.tasks import ListenerTasks

SHORTCUTS = {
    ids.SHORTCUT_ADD_DESTINATION: add_destination_shortcut,
    ids.SHORTCUT_SEND_TO_EMAIL: send_to_email_shortcut,
}


def register(app: AsyncApp, tasks: ListenerTasks) -> None:
    for callback_id, handler in SHORTCUTS.items():
        app.shortcut(callback_id)(tasks.track(handler))
