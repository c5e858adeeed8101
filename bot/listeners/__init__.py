"""Listener registration: one ``register(app)`` per kind of Slack interaction."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, commands, events, options, shortcuts, views


def register_listeners(app: AsyncApp) -> None:
    actions.register(app)
    commands.register(app)
    events.register(app)
    options.register(app)
    shortcuts.register(app)
    views.register(app)
