"""Listener registration: one ``register(app)`` per kind of Slack interaction."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, commands, events, options, shortcuts, views
from bot.listeners.tasks import ListenerTasks


def register_listeners(app: AsyncApp, tasks: ListenerTasks) -> None:
    for group in (actions, commands, events, options, shortcuts, views):
        group.register(app, tasks)
