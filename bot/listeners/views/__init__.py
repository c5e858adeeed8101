from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import ids
from bot.listeners.views.destination_form import destination_form_submitted


def register(app: AsyncApp) -> None:
    app.view(ids.VIEW_DESTINATION_FORM)(destination_form_submitted)
