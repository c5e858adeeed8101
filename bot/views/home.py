"""The App Home tab: the user's destinations and recent sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock, PlainTextObject
from slack_sdk.models.views import View

from bot import ids
from bot.policy import Policy
from bot.views.common import button, context, destination_buttons, destination_line, md
from bot.views.messages import follow_blocks, history_line, policy_lines
from storage.models import Delivery, DestinationPublic, Follow

MAX_SHOWN = 20  # 2 blocks each: stays far below the 100-block limit


@dataclass(frozen=True)
class AdminSection:
    """What an admin's Home adds: the workspace policy and the newest audit entries."""

    policy: Policy
    recent: Sequence[tuple[str, str, str]]  # (time, user, action)


AUDIT_SHOWN = 10


FOLLOWS_SHOWN = 5  # two blocks each; Home keeps far below its 100 blocks


def home_view(
    *,
    destinations: Sequence[DestinationPublic],
    deliveries: Sequence[Delivery],
    not_allowed: frozenset[str] = frozenset(),
    admin: AdminSection | None = None,
    follows: Sequence[Follow] = (),
) -> View:
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
        line = destination_line(destination, allowed=destination.id not in not_allowed)
        blocks += [md(line), destination_buttons(destination)]
    if len(destinations) > MAX_SHOWN:
        blocks.append(
            context(
                f"Showing {MAX_SHOWN} of your {len(destinations)} destinations. "
                "Type `/xenocept list` to page through all of them."
            )
        )
    if follows:
        blocks += [DividerBlock(), md("*Channels you follow*")]
        for follow in follows[:FOLLOWS_SHOWN]:
            blocks += follow_blocks(follow)
        if len(follows) > FOLLOWS_SHOWN:
            blocks.append(context(f"{len(follows)} in all: `/xenocept following` lists them."))
    if deliveries:
        blocks += [
            DividerBlock(),
            md("*Recent sends*"),
            md("\n".join(history_line(d) for d in deliveries[:5])),
        ]
    if admin is not None:
        blocks += _admin_blocks(admin)
    blocks.append(
        context(
            "Only you can see your destinations. Passwords are stored encrypted "
            "and never shown again."
        )
    )
    return View(type="home", blocks=blocks)


def _admin_blocks(admin: AdminSection) -> list[Block]:
    entries = [f"`{when}` <@{user}> {action}" for when, user, action in admin.recent]
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text=PlainTextObject(text="Workspace policy")),
        md("\n".join(f"• {line}" for line in policy_lines(admin.policy))),
        ActionsBlock(elements=[button("Edit policy", ids.ACTION_EDIT_POLICY)]),
        md("*Latest audit entries*\n" + ("\n".join(entries[:AUDIT_SHOWN]) or "None yet.")),
        context("Only workspace admins see this section. `/xenocept audit` exports it all."),
    ]
    return blocks
