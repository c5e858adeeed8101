"""Workspace policy: who may change it, reading it, changing it, and the one place every
path asks it (saving a destination, test sends, sends, the worker, App Home).

Admins are the workspace's owners and admins as Slack reports them (users.info), and the
user ids the operator lists in XENOCEPT_ADMINS; checked here, on the server, for every
admin action and per workspace.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot import audit_service
from bot.errors import NotAdmin
from bot.policy import Policy
from bot.render.request import SendRequest
from bot.services import Services
from bot.slackdata.users import is_workspace_admin
from bot.views.messages import audit_posted
from storage import destinations, policies
from storage.db import DbSession, transaction
from storage.models import DestinationPublic, Owner


async def is_admin(services: Services, client: AsyncWebClient, owner: Owner) -> bool:
    if owner.user_id in services.settings.admins:
        return True
    return await is_workspace_admin(client, owner.user_id)


async def policy_in(db: DbSession, owner: Owner) -> Policy:
    """The policy of ``owner``'s workspace, inside the caller's transaction."""
    row = await policies.get_policy(db=db, enterprise_id=owner.enterprise_id, team_id=owner.team_id)
    return Policy.of(row)


async def workspace_policy(services: Services, owner: Owner) -> Policy:
    async with transaction(services.database) as db:
        return await policy_in(db, owner)


async def _require_admin(services: Services, client: AsyncWebClient, owner: Owner) -> None:
    if not await is_admin(services, client, owner):
        raise NotAdmin


async def policy_for_admin(services: Services, client: AsyncWebClient, owner: Owner) -> Policy:
    """The policy to edit; ``NotAdmin`` for anyone else."""
    await _require_admin(services, client, owner)
    return await workspace_policy(services, owner)


async def change_policy(
    services: Services, client: AsyncWebClient, owner: Owner, policy: Policy
) -> None:
    """Store the workspace's new policy (checked again: a forged submission is refused)
    and audit it, before → after."""
    await _require_admin(services, client, owner)
    after = policy.columns()
    async with transaction(services.database) as db:
        before = (await policy_in(db, owner)).columns()
        await policies.save_policy(
            db=db,
            enterprise_id=owner.enterprise_id,
            team_id=owner.team_id,
            by=owner.user_id,
            values=after,
        )
        changes = {
            key: f"{before[key]!r} -> {value!r}"
            for key, value in after.items()
            if before[key] != value
        }
        await audit_service.record(db, owner, "policy changed", services.clock(), **changes)


async def export_audit(
    services: Services, client: AsyncWebClient, owner: Owner, *, days: int
) -> int:
    """The workspace's audit entries of the last ``days`` days as a CSV file in the admin's
    DM with the app (files.uploadV2). Written to a private temporary file page by page,
    then uploaded; returns how many entries it holds."""
    await _require_admin(services, client, owner)
    with audit_service.scratch_file() as path:
        count = await audit_service.write_csv(services, owner, days=days, path=path)
        opened = await client.conversations_open(users=owner.user_id)
        day = services.clock().date().isoformat()
        await client.files_upload_v2(
            channel=str((opened.get("channel") or {}).get("id")),
            file=str(path),
            filename=f"xenocept-audit-{owner.team_id}-{day}.csv",
            title=f"Xenocept audit trail, last {days} days",
            initial_comment=audit_posted(count, days),
        )
    return count


async def listed_destinations(
    services: Services, owner: Owner
) -> tuple[list[DestinationPublic], frozenset[str]]:
    """The owner's destinations, and those the workspace's policy no longer allows."""
    async with transaction(services.database) as db:
        mine = await destinations.list_destinations(db=db, owner=owner)
        policy = await policy_in(db, owner)
    return mine, not_allowed_ids(policy, mine)


def check_send(policy: Policy, destination: DestinationPublic, request: SendRequest) -> None:
    """The rules a forward must pass, at submission and again in the worker."""
    check_route(policy, destination, channel_id=request.channel_id, kind=request.conversation_kind)


def check_route(
    policy: Policy, destination: DestinationPublic, *, channel_id: str, kind: str
) -> None:
    """The destination (provider, recipients) and the conversation it takes from: for a
    forward, and for a follow before it forwards anything."""
    policy.check_destination(provider=destination.provider, recipients=destination.recipients)
    policy.check_conversation(channel_id=channel_id, kind=kind)


def not_allowed_ids(policy: Policy, destinations: Sequence[DestinationPublic]) -> frozenset[str]:
    """The destinations that no longer comply: marked in lists and App Home."""
    return frozenset(
        d.id
        for d in destinations
        if not policy.complies(provider=d.provider, recipients=d.recipients)
    )
