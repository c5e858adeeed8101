from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.events import uninstall
from bot.listeners.events.app_home_opened import app_home_opened
from bot.listeners.tasks import Listener, ListenerTasks

EVENTS: dict[str, Listener] = {
    "app_home_opened": app_home_opened,
    "app_uninstalled": uninstall.app_uninstalled,
    "tokens_revoked": uninstall.tokens_revoked,
}


def register(app: AsyncApp, tasks: ListenerTasks) -> None:
    for event, handler in EVENTS.items():
        app.event(event)(tasks.track(handler))
