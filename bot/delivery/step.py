"""One claimed delivery, from its row to the SMTP server's answer.

The step reads the destination, opens its password, connects (or reuses the group's
connection to the same account), composes the email within the server's size limit and
sends it. It writes nothing and posts nothing: it returns an :data:`Outcome` that the
recorder (``bot.delivery.outcomes``) stores and reports.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.advice import Target
from bot.crypto import Sealed
from bot.delivery.compose import Composed, SessionComposer, compose_test, size_budget
from bot.destination_service import password_context
from bot.errors import DestinationGone, FollowerLeft, SendFailure, XenoceptError
from bot.follow_service import follow_id_of
from bot.mail.smtp import SendReceipt, SmtpAccount, SmtpConnection
from bot.policy import Policy
from bot.policy_service import check_send, policy_in
from bot.presets import preset_for, preset_for_host
from bot.render.request import SendRequest, conversation_label
from bot.services import Services
from bot.slackdata.channels import is_member
from bot.slackdata.users import People
from storage import deliveries, destinations
from storage.db import transaction
from storage.errors import NotFound
from storage.models import Delivery, DeliveryKind, DestinationPublic, SealedPassword

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    composed: Composed
    receipt: SendReceipt  # who accepted it, and who refused it
    seconds: float


@dataclass(frozen=True)
class Failed:
    error: BaseException
    target: Target | None  # what the advice speaks about, once the destination was read


@dataclass(frozen=True)
class Deferred:
    """A follow's send waits for a rate limit's window: it is not an attempt."""

    until: datetime
    daily: bool  # the destination's day (the follow pauses), else the user's hour


Outcome = Sent | Failed | Deferred


class DeliveryStep:
    def __init__(self, services: Services, *, composer: SessionComposer | None) -> None:
        self._services = services
        self._composer = composer

    async def run(
        self, delivery: Delivery, connection: SmtpConnection | None
    ) -> tuple[Outcome, SmtpConnection | None]:
        """Send ``delivery``; returns its outcome and the connection worth keeping open
        for the group's next delivery (None once it failed)."""
        started = time.monotonic()
        target: Target | None = None
        try:
            destination, sealed, policy = await self._destination(delivery)
            target = target_of(destination, delivery)
            _check_policy(policy, destination, delivery)
            if follow_id_of(delivery) is not None:
                waits = await self._follow_waits(delivery)
                if waits is not None:
                    return waits, connection
            account = self._account(destination, sealed)
            connection, reused = await self._connection(connection, account)
            target = replace(target, size_limit=connection.size_limit)
            composed = await self._compose(
                delivery, destination, size_limit=size_budget(connection.size_limit)
            )
            policy.check_thread(composed.messages)
            connection, receipt = await self._send(connection, reused, destination, composed)
        except SendFailure as failure:
            return Failed(failure, target), None
        except NotFound:
            return Failed(DestinationGone(), None), connection
        except XenoceptError as error:
            return Failed(error, target), connection
        except Exception as error:  # a bug must end in an explained failure, not a stuck row
            log.exception("delivery %s failed unexpectedly", delivery.id)
            return Failed(error, target), None
        return Sent(composed, receipt, time.monotonic() - started), connection

    async def _destination(
        self, delivery: Delivery
    ) -> tuple[DestinationPublic, SealedPassword, Policy]:
        """The destination, its sealed password, and the workspace's policy as it is now
        (tightened after the send was queued, it still stops it)."""
        async with transaction(self._services.database) as db:
            destination, sealed = await destinations.sealed_password(
                db=db, owner=delivery.owner, destination_id=delivery.destination_id
            )
            return destination, sealed, await policy_in(db, delivery.owner)

    async def _follow_waits(self, delivery: Delivery) -> Deferred | None:
        """A follow sends by itself, so its limits delay it instead of refusing it; and
        only while its user is still in the channel (``FollowerLeft`` otherwise)."""
        request = SendRequest.load(delivery.request_json)
        client = await self._services.slack_of(delivery)
        if not await is_member(client, request.channel_id, delivery.user_id):
            raise FollowerLeft(
                channel=conversation_label(request.channel_id, request.channel_name),
                follow_id=follow_id_of(delivery) or "",
            )
        now, limits = self._services.clock(), self._services.settings
        async with transaction(self._services.database) as db:
            day = await deliveries.sent_since(
                db=db,
                owner=delivery.owner,
                since=now - timedelta(days=1),
                destination_id=delivery.destination_id,
            )
            hour = await deliveries.sent_since(
                db=db, owner=delivery.owner, since=now - timedelta(hours=1)
            )
        if len(day) >= limits.destination_sends_per_day:
            return Deferred(day[-limits.destination_sends_per_day] + timedelta(days=1), True)
        if len(hour) >= limits.user_sends_per_hour:
            return Deferred(hour[-limits.user_sends_per_hour] + timedelta(hours=1), False)
        return None

    def _account(self, destination: DestinationPublic, sealed: SealedPassword) -> SmtpAccount:
        password = self._services.box.open(
            Sealed(sealed.key_id, sealed.ciphertext),
            context=password_context(destination.id),
            label=destination.name,
        )
        return SmtpAccount(
            host=destination.smtp_host,
            port=destination.smtp_port,
            security=destination.security,
            username=destination.username,
            password=password,
        )

    async def _compose(
        self, delivery: Delivery, destination: DestinationPublic, *, size_limit: int
    ) -> Composed:
        if delivery.kind is DeliveryKind.SESSION and self._composer is not None:
            return await self._composer.compose(delivery, destination, size_limit=size_limit)
        person = await People(await self._services.slack_of(delivery)).get(delivery.user_id)
        return await compose_test(
            self._services,
            delivery,
            destination,
            user_name=person.name,
            time_zone=person.time_zone,
            size_limit=size_limit,
        )

    async def _connection(
        self, connection: SmtpConnection | None, account: SmtpAccount
    ) -> tuple[SmtpConnection, bool]:
        """The group's open connection when it is for this account, else a new one."""
        if connection is not None and connection.is_open and connection.account == account:
            return connection, True
        if connection is not None:
            await connection.close()
        return await self._services.mailer.open(account), False

    async def _send(
        self,
        connection: SmtpConnection,
        reused: bool,
        destination: DestinationPublic,
        composed: Composed,
    ) -> tuple[SmtpConnection, SendReceipt]:
        async def send_over(connection: SmtpConnection) -> SendReceipt:
            return await connection.send(
                composed.message,
                sender=destination.from_address,
                recipients=destination.recipients,
                data=composed.data,
            )

        try:
            receipt = await send_over(connection)
        except SendFailure as failure:
            await connection.close()
            if not (reused and failure.transient and failure.code is None):
                raise
            # An idle connection the server closed: one fresh try, then report.
            connection = await self._services.mailer.open(connection.account)
            receipt = await send_over(connection)
        return connection, receipt


def _check_policy(policy: Policy, destination: DestinationPublic, delivery: Delivery) -> None:
    if delivery.kind is DeliveryKind.SESSION:
        check_send(policy, destination, SendRequest.load(delivery.request_json))
    else:  # a test send has no conversation
        policy.check_destination(provider=destination.provider, recipients=destination.recipients)


def target_of(destination: DestinationPublic, delivery: Delivery) -> Target:
    preset = preset_for_host(destination.smtp_host) or preset_for(destination.provider)
    return Target(
        preset=preset,
        host=destination.smtp_host,
        port=destination.smtp_port,
        username=destination.username,
        is_test=delivery.kind is DeliveryKind.TEST,
        whole_thread=is_thread_send(delivery),
    )


def is_thread_send(delivery: Delivery) -> bool:
    return (
        delivery.kind is DeliveryKind.SESSION
        and SendRequest.load(delivery.request_json).scope == "thread"
    )
