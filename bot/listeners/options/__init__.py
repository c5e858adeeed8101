"""Options requests: Slack asks for a menu's choices as the user types."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.options.destination_search import destination_search
from bot.listeners.tasks import ListenerTasks

OPTIONS = {ids.ACTION_PICK_DESTINATION: destination_search}


def register(app: AsyncApp, tasks: ListenerTasks) -> None:
    for action_id, handler in OPTIONS.items():
        app.options(action_id)(tasks.track(handler))
