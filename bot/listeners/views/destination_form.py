"""Submit of the setup modal: check every field, save, queue the test send, close."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.advice import Target, for_error
from bot.destination_service import save_destination, slack_request_key
from bot.errors import HostLookupFailed, HostNotAllowed
from bot.forms import DestinationForm, ValidDestination, validate
from bot.home import publish_home
from bot.listeners.common import owner_of, services_of
from bot.presets import preset_for
from bot.views import messages
from bot.views.destination_modal import FormMetadata
from storage.errors import DuplicateName, NotFound, StorageUnavailable

NOT_YOURS = "This destination is not yours or was removed. Close this and start again."


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
    host_error = await _host_problem(context, checked)
    if host_error:
        await ack(response_action="errors", errors={ids.BLOCK_HOST: host_error})
        return
    try:
        await save_destination(
            services,
            owner=owner,
            valid=checked,
            destination_id=meta.destination_id,
            dedupe_key=slack_request_key("view", view.get("id"), view.get("hash")),
        )
    except DuplicateName:
        await ack(
            response_action="errors",
            errors={ids.BLOCK_NAME: f"You already have a destination named {checked.fields.name}."},
        )
        return
    except NotFound:  # an id that is not this user's: refuse, change nothing
        await ack(response_action="errors", errors={ids.BLOCK_NAME: NOT_YOURS})
        return
    except StorageUnavailable:  # a full disk: the form stays open with what was typed
        await ack(response_action="errors", errors={ids.BLOCK_NAME: messages.NOT_SAVED})
        return
    # Pushed over the "no destination yet" modal: close both, the test report follows in DM.
    if view.get("previous_view_id"):
        await ack(response_action="clear")
    else:
        await ack()
    await publish_home(services.database, client, owner)


async def _host_problem(context: AsyncBoltContext, checked: ValidDestination) -> str | None:
    fields = checked.fields
    try:
        await services_of(context).guard.resolve(fields.smtp_host, fields.smtp_port)
    except (HostNotAllowed, HostLookupFailed) as error:
        target = Target(preset_for(fields.provider), fields.smtp_host, fields.smtp_port)
        advice = for_error(error, target)
        return f"{advice.detail} {' '.join(advice.fixes)}"
    return None
