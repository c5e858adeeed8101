"""The App Home tab: the user's destinations and recent sends."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock, PlainTextObject
from slack_sdk.models.views import View

from bot import ids
from bot.views.common import button, context, destination_buttons, destination_line, md
from bot.views.messages import history_line
from storage.models import Delivery, DestinationPublic

MAX_SHOWN = 20  # 2 blocks each: stays far below the 100-block limit


def home_view(*, destinations: Sequence[DestinationPublic], deliveries: Sequence[Delivery]) -> View:
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="Xenocept email destinations")),
        md(
            "Forward Slack messages, whole threads and Xenocept sessions to your mailbox: "
            "message menu → *Send to email*."
        ),
        ActionsBlock(
            elements=[button("Add destination", ids.ACTION_ADD_DESTINATION, style="primary")]
        ),
        DividerBlock(),
    ]
    if not destinations:
        blocks.append(
            md(
                "You have no destinations yet. *Add destination* sets up iCloud Mail "
                "(or any SMTP server) and sends a test session."
            )
        )
    for destination in destinations[:MAX_SHOWN]:
        blocks += [md(destination_line(destination)), destination_buttons(destination)]
    if len(destinations) > MAX_SHOWN:
        blocks.append(
            context(
                f"Showing {MAX_SHOWN} of your {len(destinations)} destinations. "
                "Type `/xenocept list` to page through all of them."
            )
        )
    if deliveries:
        blocks += [
            DividerBlock(),
            md("*Recent sends*"),
            md("\n".join(history_line(d) for d in deliveries[:5])),
        ]
    blocks.append(
        context(
            "Only you can see your destinations. Passwords are stored encrypted "
            "and never shown again."
        )
    )
    return View(type="home", blocks=blocks)
