from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.actions import destination_buttons as buttons
from bot.listeners.actions import (
    forwarding_buttons,
    list_pages,
    policy_button,
    provider_select,
    send_buttons,
    share_buttons,
)
from bot.listeners.tasks import Listener, ListenerTasks

ACTIONS: dict[str, Listener] = {
    ids.ACTION_ADD_DESTINATION: buttons.add_clicked,
    ids.ACTION_TEST_DESTINATION: buttons.test_clicked,
    ids.ACTION_EDIT_DESTINATION: buttons.edit_clicked,
    ids.ACTION_REMOVE_DESTINATION: buttons.remove_clicked,
    ids.ACTION_CONFIRM_REMOVE: buttons.remove_confirmed,
    ids.ACTION_CANCEL_REMOVE: buttons.remove_cancelled,
    ids.ACTION_PUSH_ADD_DESTINATION: send_buttons.push_add_destination,
    ids.ACTION_SEND_ONLY_MESSAGE: send_buttons.send_only_message,
    ids.ACTION_CHOOSE_PROVIDER: provider_select.provider_chosen,
    ids.ACTION_LIST_PREVIOUS: list_pages.page_turned,
    ids.ACTION_LIST_NEXT: list_pages.page_turned,
    ids.ACTION_EDIT_POLICY: policy_button.edit_policy_clicked,
    ids.ACTION_CHANGE_SEND: forwarding_buttons.change_clicked,
    ids.ACTION_STOP_FOLLOW: forwarding_buttons.stop_clicked,
    ids.ACTION_REVOKE_SHARE_KEY: share_buttons.revoke_clicked,
    ids.ACTION_EMAIL_SHARED: share_buttons.email_me_clicked,
}


def register(app: AsyncApp, tasks: ListenerTasks) -> None:
    for action_id, handler in ACTIONS.items():
        app.action(action_id)(tasks.track(handler))
