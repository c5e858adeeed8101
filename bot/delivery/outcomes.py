"""What a delivery's outcome changes: the row (sent, failed, or queued again), the
destination's last test or last use, the status message in Slack and App Home.

The row is written until the database takes it: after an SMTP outcome the row must say
what happened, or a restart would send the email again. A full disk or a lost database
connection delays the record only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot import advice, audit_service
from bot.delivery.retry import RetryPolicy
from bot.delivery.status import StatusReporter, tell
from bot.delivery.step import Deferred, Failed, Sent, is_thread_send
from bot.errors import ConversationUnreadable, FollowerLeft, XenoceptError
from bot.follow_service import follow_id_of
from bot.home import publish_home
from bot.render.request import SendRequest
from bot.services import Services
from bot.views import messages
from storage import deliveries, destinations, follows
from storage.db import DbSession, transaction
from storage.errors import NotFound
from storage.models import Delivery, DeliveryKind, DeliveryStatus

log = logging.getLogger(__name__)


class OutcomeRecorder:
    def __init__(
        self,
        services: Services,
        *,
        worker_id: str,
        retry: RetryPolicy,
        status: StatusReporter,
        retry_writes_every: float,
    ) -> None:
        self._services = services
        self._worker_id = worker_id
        self._retry = retry
        self._status = status
        self._retry_writes_every = retry_writes_every  # the database refused a write

    async def sent(self, delivery: Delivery, sent: Sent) -> None:
        now, receipt = self._services.clock(), sent.receipt
        delivery.summary = sent.composed.summary
        refused = (
            advice.for_refused_recipients([(r.recipient, r.code, r.text) for r in receipt.refused])
            if receipt.refused
            else None
        )
        outcome = messages.outcome_summary(receipt.accepted, refused)

        async def record(db: DbSession) -> None:
            await deliveries.finish(
                db=db,
                delivery_id=delivery.id,
                worker_id=self._worker_id,
                status=DeliveryStatus.SENT,
                at=now,
                attempts=delivery.attempts + 1,
                summary=sent.composed.summary,
                error=outcome if refused else None,
                duration_ms=int(sent.seconds * 1000),
            )
            # A refused recipient is a problem to fix, even though the others got it.
            await _record_use(db, delivery, ok=refused is None, summary=outcome, at=now)
            await _audit(
                db,
                delivery,
                now,
                outcome="partly sent" if refused else "sent",
                recipients=",".join(receipt.accepted),
                refused=",".join(r.recipient for r in receipt.refused),
                messages=sent.composed.messages,
                bytes=sent.composed.size,
            )

            follow_id = follow_id_of(delivery)
            if follow_id is not None:  # it sends again: a pause for the day is over
                await follows.resume_follow(db=db, owner=delivery.owner, follow_id=follow_id)

        await self._persist(delivery, record)
        # One line per send for the operator (which instance sent what), no addresses.
        log.info(
            "delivery %s sent by %s: %d recipient(s) accepted, %d refused",
            delivery.id,
            self._worker_id,
            len(receipt.accepted),
            len(receipt.refused),
        )
        await self._status.show(
            delivery,
            messages.sent(
                delivery, recipients=receipt.accepted, seconds=sent.seconds, refused=refused
            ),
        )
        await self._refresh_home(delivery)

    async def failed(self, delivery: Delivery, failed: Failed) -> None:
        attempts = delivery.attempts + 1
        now = self._services.clock()
        retry = self._retry.retries(delivery, failed.error, attempts=attempts)
        target = replace(failed.target, retried=retry) if failed.target else None
        note = advice.for_error(failed.error, target)
        delay = self._retry.delay(attempts)

        async def record(db: DbSession) -> None:
            if retry:
                await deliveries.reschedule(
                    db=db,
                    delivery_id=delivery.id,
                    worker_id=self._worker_id,
                    at=now + timedelta(seconds=delay),
                    attempts=attempts,
                    error=note.detail,
                )
                return
            await deliveries.finish(
                db=db,
                delivery_id=delivery.id,
                worker_id=self._worker_id,
                status=DeliveryStatus.FAILED,
                at=now,
                attempts=attempts,
                summary=delivery.summary,
                error=f"{note.headline}: {note.detail}",
                duration_ms=None,
            )
            summary = f"{note.headline}: {note.detail}"
            await _record_use(db, delivery, ok=False, summary=summary, at=now)
            await _audit(db, delivery, now, outcome=f"failed: {note.headline}")
            if isinstance(failed.error, FollowerLeft):  # the follow ends with this send
                with contextlib.suppress(NotFound):
                    await follows.delete_follow(
                        db=db, owner=delivery.owner, follow_id=failed.error.follow_id
                    )

        await self._persist(delivery, record)
        if retry:
            await self._status.show(
                delivery, messages.retrying(delivery, note, in_seconds=delay, attempt=attempts)
            )
            return
        offer_message_only = isinstance(failed.error, ConversationUnreadable) and is_thread_send(
            delivery
        )
        await self._status.show(
            delivery,
            messages.failed(
                delivery, note, attempts=attempts, offer_message_only=offer_message_only
            ),
        )
        await self._refresh_home(delivery)

    async def deferred(self, delivery: Delivery, deferred: Deferred) -> None:
        """A follow's send waits for its rate limit; a pause for the day is said once."""
        told: list[bool] = []

        async def wait(db: DbSession) -> None:
            await deliveries.reschedule(
                db=db,
                delivery_id=delivery.id,
                worker_id=self._worker_id,
                at=deferred.until,
                attempts=delivery.attempts,  # waiting is not an attempt
                error=messages.waiting_note(deferred.daily),
            )
            follow_id = follow_id_of(delivery)
            if deferred.daily and follow_id is not None:
                told.append(
                    await follows.pause_follow(
                        db=db,
                        owner=delivery.owner,
                        follow_id=follow_id,
                        reason=messages.DAILY_LIMIT_PAUSE,
                        until=deferred.until,
                    )
                )

        await self._persist(delivery, wait)
        await self._status.show(
            delivery, messages.waiting(delivery, until=deferred.until, daily=deferred.daily)
        )
        if any(told):
            with contextlib.suppress(XenoceptError):  # uninstalled meanwhile: none to tell
                channel_id = SendRequest.load(delivery.request_json).channel_id
                await tell(
                    await self._services.slack_of(delivery),
                    delivery.user_id,
                    messages.follow_paused_for_day(
                        channel_id, delivery.destination_name, deferred.until
                    ),
                )

    async def release(self, delivery: Delivery) -> None:
        """An attempt cut short by something unexpected: due again after the backoff."""
        attempts = delivery.attempts + 1

        async def release(db: DbSession) -> None:
            await deliveries.reschedule(
                db=db,
                delivery_id=delivery.id,
                worker_id=self._worker_id,
                at=self._services.clock() + timedelta(seconds=self._retry.delay(attempts)),
                attempts=attempts,
                error=messages.INTERRUPTED,
            )

        await self._persist(delivery, release)

    async def _persist(
        self, delivery: Delivery, write: Callable[[DbSession], Awaitable[None]]
    ) -> None:
        """Run ``write`` in a transaction until the database takes it."""
        waited = self._retry_writes_every
        while True:
            try:
                async with transaction(self._services.database) as db:
                    await write(db)
                return
            except Exception as error:
                log.warning(
                    "could not record delivery %s yet (%s); trying again in %.0f s",
                    delivery.id,
                    error,
                    waited,
                )
                await asyncio.sleep(waited)
                waited = min(max(waited, 0.01) * 2, 30.0)

    async def _refresh_home(self, delivery: Delivery) -> None:
        """Home shows each destination's last test result: keep it current after a test.

        (Opening Home republishes it anyway; this is for someone watching it.)"""
        if delivery.kind is not DeliveryKind.TEST:
            return
        try:
            await publish_home(
                self._services, await self._services.slack_of(delivery), delivery.owner
            )
        except Exception as error:  # Home catches up when it is next opened
            log.warning("could not refresh Home for %s: %s", delivery.user_id, error)


async def _record_use(
    db: DbSession, delivery: Delivery, *, ok: bool, summary: str, at: datetime
) -> None:
    """A test's result, or a session's last use, on the destination (if still there)."""
    owner = delivery.owner
    with contextlib.suppress(NotFound):
        if delivery.kind is DeliveryKind.TEST:
            await destinations.record_test_result(
                db=db,
                owner=owner,
                destination_id=delivery.destination_id,
                ok=ok,
                summary=summary,
                at=at,
            )
        elif ok:
            await destinations.mark_used(
                db=db, owner=owner, destination_id=delivery.destination_id, at=at
            )


async def _audit(db: DbSession, delivery: Delivery, at: datetime, **details: object) -> None:
    """The audit entry of a finished delivery: a test, or what was forwarded from where
    (the conversation's id and name, never its text or the subject typed)."""
    where: dict[str, object] = {"destination": delivery.destination_id}
    if delivery.kind is DeliveryKind.TEST:
        action = "destination tested"
    else:
        request = SendRequest.load(delivery.request_json)
        action = "thread forwarded" if request.scope == "thread" else "message forwarded"
        where |= {"conversation": request.channel_id, "conversation_name": request.channel_name}
    await audit_service.record(db, delivery.owner, action, at, **where, **details)
