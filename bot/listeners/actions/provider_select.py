"""The provider select at the top of the setup modal: refill the modal in place.

The new provider's server settings replace the old ones; what the user typed in the fields
no provider dictates (Name once edited, Username, From, To, Screenshot) stays. The password
is never put back into a view.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.forms import DestinationForm, carry_over
from bot.listeners.common import local_hosts_allowed, setup_modal
from bot.presets import Preset, find_preset, unavailable_reason
from bot.views.destination_modal import FormMetadata

log = logging.getLogger(__name__)


async def provider_chosen(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    view = body.get("view") or {}
    local = local_hosts_allowed(context)
    chosen = _chosen(action, view, local_allowed=local)
    if chosen is None or not view.get("id"):
        return
    typed = DestinationForm.from_state((view.get("state") or {}).get("values") or {})
    modal = await setup_modal(context, preset=chosen, values=carry_over(typed, chosen))
    try:
        await client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=modal)
    except SlackApiError as error:  # e.g. hash_conflict: the user changed the view meanwhile
        log.info("provider switch not applied: %s", error.response.get("error"))


def _chosen(action: dict[str, Any], view: dict[str, Any], *, local_allowed: bool) -> Preset | None:
    """The offered preset picked in a new-destination modal; None for anything else."""
    if FormMetadata.load(view.get("private_metadata", "")).destination_id:
        return None  # editing has no provider choice
    value = str((action.get("selected_option") or {}).get("value") or "")
    preset = find_preset(value) if value else None
    if preset is None or unavailable_reason(preset, local_allowed=local_allowed):
        return None
    return preset
