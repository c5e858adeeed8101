"""Submit of the setup modal: check every field, save, queue the test send, close."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.destination_service import save_destination, slack_request_key
from bot.errors import HostLookupFailed, HostNotAllowed, PolicyRefusal
from bot.forms import DestinationForm, ValidDestination, validate
from bot.home import publish_home
from bot.listeners.common import owner_of, services_of
from bot.presets import preset_for
from bot.views.destination_modal import FormMetadata, form_errors
from storage.errors import DuplicateName, NotFound, StorageUnavailable

REFUSED = (
    HostNotAllowed,
    HostLookupFailed,
    PolicyRefusal,
    DuplicateName,
    NotFound,
    StorageUnavailable,
)


async def destination_form_submitted(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    services, owner = services_of(context), owner_of(context)
    meta = FormMetadata.load(view.get("private_metadata", ""))
    form = DestinationForm.from_state(view["state"]["values"])
    checked = validate(form, preset=preset_for(meta.preset), editing=bool(meta.destination_id))
    if not isinstance(checked, ValidDestination):
        await ack(response_action="errors", errors=checked)
        return
    try:
        await save_destination(
            services,
            owner=owner,
            valid=checked,
            destination_id=meta.destination_id,
            dedupe_key=slack_request_key("view", view.get("id"), view.get("hash")),
        )
    except REFUSED as error:  # said on the field it is about; nothing was saved
        await ack(response_action="errors", errors=form_errors(error, checked))
        return
    # Pushed over the "no destination yet" modal: close both, the test report follows in DM.
    if view.get("previous_view_id"):
        await ack(response_action="clear")
    else:
        await ack()
    await publish_home(services, client, owner)
