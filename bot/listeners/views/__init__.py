from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.tasks import Listener, ListenerTasks
from bot.listeners.views.destination_form import destination_form_submitted
from bot.listeners.views.policy_form import policy_form_submitted
from bot.listeners.views.send_form import send_form_submitted

VIEWS: dict[str, Listener] = {
    ids.VIEW_DESTINATION_FORM: destination_form_submitted,
    ids.VIEW_SEND_FORM: send_form_submitted,
    ids.VIEW_POLICY_FORM: policy_form_submitted,
}


def register(app: AsyncApp, tasks: ListenerTasks) -> None:
    for callback_id, handler in VIEWS.items():
        app.view(callback_id)(tasks.track(handler))
