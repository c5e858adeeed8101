from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.events import channel_message, reaction_added, uninstall, user_change
from bot.listeners.events.app_home_opened import app_home_opened
from bot.listeners.tasks import Listener, ListenerTasks

EVENTS: dict[str, Listener] = {
    "app_home_opened": app_home_opened,
    "app_uninstalled": uninstall.app_uninstalled,
    "tokens_revoked": uninstall.tokens_revoked,
    "user_change": user_change.user_changed,
}

# Events whose forward is queued before Bolt acknowledges them (listener middleware runs
# first), then the listener speaks to the user.
QUEUED_BEFORE_ACK: dict[str, tuple[Listener, Listener]] = {
    "reaction_added": (reaction_added.queue_reaction, reaction_added.reaction_added),
    "message": (channel_message.queue_for_followers, channel_message.channel_message),
}


def register(app: AsyncApp, tasks: ListenerTasks) -> None:
    for event, handler in EVENTS.items():
        app.event(event)(tasks.track(handler))
    for event, (queue, handler) in QUEUED_BEFORE_ACK.items():
        app.event(event, middleware=[queue])(tasks.track(handler))
