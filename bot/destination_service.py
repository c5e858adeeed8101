"""Destination lifecycle: save (and test), test again, remove.

Passwords are sealed here, before anything reaches storage; every call names the owner,
and storage only ever touches that owner's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot import audit_service
from bot.forms import ValidDestination
from bot.policy_service import policy_in
from bot.render.headers import ascii_domain
from bot.services import Services
from bot.views.messages import HISTORY_SHOWN, TEST_SUMMARY
from storage import deliveries, destinations
from storage.db import DbSession, transaction
from storage.errors import NotFound
from storage.models import Delivery, DeliveryKind, DestinationPublic, Owner, new_id


def password_context(destination_id: str) -> str:
    """Associated data binding a sealed password to its row."""
    return f"destination:{destination_id}"


async def save_destination(
    services: Services,
    *,
    owner: Owner,
    valid: ValidDestination,
    destination_id: str | None,
    dedupe_key: str | None = None,
) -> tuple[DestinationPublic, Delivery]:
    """Create or update, and queue a test send in the same transaction.

    ``dedupe_key`` names the Slack request (view id and hash): a retried submit of the
    same form returns what the first one saved, and sends no second test. A host that
    does not resolve, or resolves to a private address, is refused before anything is saved
    (``HostLookupFailed``, ``HostNotAllowed``), as is one the workspace's policy does not
    allow (``PolicyRefusal``).
    """
    await services.guard.resolve(valid.fields.smtp_host, valid.fields.smtp_port)
    async with transaction(services.database) as db:

        async def save_and_test() -> Delivery:
            fields = valid.fields
            recipients = [a for a in fields.to_addresses.split(",") if a]
            policy = await policy_in(db, owner)
            policy.check_destination(provider=fields.provider, recipients=recipients)
            destination = await _save(services, db, owner, valid, destination_id)
            action = "destination edited" if destination_id else "destination created"
            await audit_service.record(db, owner, action, services.clock(), **_audited(destination))
            return test_delivery(destination)

        delivery, _ = await deliveries.enqueue_once(
            db=db, owner=owner, dedupe_key=dedupe_key, build=save_and_test
        )
        destination = await destinations.get_destination(
            db=db, owner=owner, destination_id=delivery.destination_id
        )
    services.wake_outbox()
    return destination, delivery


async def _save(
    services: Services,
    db: DbSession,
    owner: Owner,
    valid: ValidDestination,
    destination_id: str | None,
) -> DestinationPublic:
    if destination_id is None:
        assert valid.password is not None
        new = new_id()
        sealed = services.box.seal(valid.password, context=password_context(new))
        return await destinations.create_destination(
            db=db,
            owner=owner,
            fields=valid.fields,
            destination_id=new,
            secret_key_id=sealed.key_id,
            secret_ciphertext=sealed.ciphertext,
        )
    secret = None
    if valid.password is not None:
        sealed = services.box.seal(valid.password, context=password_context(destination_id))
        secret = (sealed.key_id, sealed.ciphertext)
    return await destinations.update_destination(
        db=db,
        owner=owner,
        destination_id=destination_id,
        fields=valid.fields,
        secret=secret,
    )


async def request_test(
    services: Services, *, owner: Owner, destination_id: str, dedupe_key: str | None = None
) -> Delivery:
    """Queue a test send; a retried Slack request (same ``dedupe_key``) queues nothing new."""
    async with transaction(services.database) as db:

        async def test() -> Delivery:
            destination = await destinations.get_destination(
                db=db, owner=owner, destination_id=destination_id
            )
            policy = await policy_in(db, owner)
            policy.check_destination(
                provider=destination.provider, recipients=destination.recipients
            )
            return test_delivery(destination)

        delivery, queued = await deliveries.enqueue_once(
            db=db, owner=owner, dedupe_key=dedupe_key, build=test
        )
    if queued:
        services.wake_outbox()
    return delivery


async def find_by_name(services: Services, *, owner: Owner, name: str) -> DestinationPublic | None:
    async with transaction(services.database) as db:
        try:
            return await destinations.find_destination(db=db, owner=owner, name=name)
        except NotFound:
            return None


async def find_owned(
    services: Services, *, owner: Owner, destination_id: str
) -> DestinationPublic | None:
    """The owner's destination with that id (from a button), or None for anyone else's."""
    async with transaction(services.database) as db:
        try:
            return await destinations.get_destination(
                db=db, owner=owner, destination_id=destination_id
            )
        except NotFound:
            return None


async def recent_history(services: Services, *, owner: Owner) -> Sequence[Delivery]:
    async with transaction(services.database) as db:
        return await deliveries.recent_deliveries(db=db, owner=owner, limit=HISTORY_SHOWN)


async def owned_destinations(services: Services, *, owner: Owner) -> Sequence[DestinationPublic]:
    """The owner's destinations, by name: lists, pages and the send modal's search."""
    async with transaction(services.database) as db:
        return await destinations.list_destinations(db=db, owner=owner)


async def remove_destination(
    services: Services, *, owner: Owner, destination_id: str
) -> DestinationPublic:
    async with transaction(services.database) as db:
        gone = await destinations.delete_destination(
            db=db, owner=owner, destination_id=destination_id
        )
        await audit_service.record(
            db, owner, "destination removed", services.clock(), **_audited(gone)
        )
    return gone


def _audited(destination: DestinationPublic) -> dict[str, object]:
    """What the audit trail says of a destination: where it sends, never its password."""
    return {
        "destination": destination.id,
        "name": destination.name,
        "provider": destination.provider,
        "host": destination.smtp_host,
        "recipients": ",".join(destination.recipients),
    }


def new_delivery(
    destination: DestinationPublic,
    *,
    kind: DeliveryKind,
    summary: str,
    request_json: str = "{}",
    source: str | None = None,
    at: datetime | None = None,
) -> Delivery:
    """An outbox row for ``destination``, due ``at`` (the service clock's now; default the
    wall clock); enqueueing stamps the owner on it."""
    delivery_id = new_id()
    delivery = Delivery(
        source=source,
        id=delivery_id,
        team_id=destination.team_id,
        user_id=destination.user_id,
        destination_id=destination.id,
        destination_name=destination.name,
        kind=kind,
        summary=summary,
        request_json=request_json,
        message_id=message_id_for(delivery_id, destination.from_address),
    )
    if at is not None:
        delivery.created_at = delivery.next_attempt_at = at
    return delivery


def test_delivery(destination: DestinationPublic) -> Delivery:
    return new_delivery(destination, kind=DeliveryKind.TEST, summary=TEST_SUMMARY)


def slack_request_key(kind: str, *parts: object) -> str | None:
    """A dedupe key from Slack's own ids (a retry carries the same ones), if all are there."""
    if not all(parts):
        return None
    return ":".join([kind, *(str(part) for part in parts)])


def message_id_for(delivery_id: str, sender: str) -> str:
    """Fixed per delivery, so a retried send carries the same Message-ID."""
    domain = ascii_domain(sender.rsplit("@", 1)[-1]) or "xenocept.invalid"
    return f"<xenocept.{delivery_id}@{domain}>"
