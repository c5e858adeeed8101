from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.actions import destination_buttons as buttons


def register(app: AsyncApp) -> None:
    app.action(ids.ACTION_ADD_DESTINATION)(buttons.add_clicked)
    app.action(ids.ACTION_TEST_DESTINATION)(buttons.test_clicked)
    app.action(ids.ACTION_EDIT_DESTINATION)(buttons.edit_clicked)
    app.action(ids.ACTION_REMOVE_DESTINATION)(buttons.remove_clicked)
    app.action(ids.ACTION_CONFIRM_REMOVE)(buttons.remove_confirmed)
    app.action(ids.ACTION_CANCEL_REMOVE)(buttons.remove_cancelled)
