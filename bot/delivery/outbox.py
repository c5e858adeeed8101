"""The outbox worker: claims due deliveries, sends them, reports in Slack.

A delivery row is written (and committed) before Slack gets its ack, so nothing
acknowledged is lost. Claims are leases: a live worker renews its own, and a worker that
died (its lease expired) has its rows taken over by any instance on the same database; a
SQLite bot, the only process on its file, takes back everything in flight at start-up.
Transient failures (network, TLS drop, 4xx) are retried with exponential backoff and
jitter; permanent ones (5xx) stop at once. Deliveries to the same destination that are
due together share one SMTP connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot import advice
from bot.advice import Target
from bot.crypto import Sealed
from bot.delivery.compose import Composed, SessionComposer, compose_test, size_budget
from bot.delivery.status import StatusReporter
from bot.destination_service import password_context
from bot.errors import (
    TRANSIENT_SLACK_ERRORS,
    ConversationUnreadable,
    DestinationGone,
    SendFailure,
    SlackDataError,
    XenoceptError,
)
from bot.home import publish_home
from bot.mail.smtp import SendReceipt, SmtpAccount, SmtpConnection
from bot.presets import preset_for, preset_for_host
from bot.render.request import SendRequest
from bot.services import Services
from bot.slackdata.users import People
from bot.views import messages
from storage import deliveries, destinations
from storage.db import DbSession, transaction
from storage.errors import NotFound
from storage.models import Delivery, DeliveryKind, DeliveryStatus, Destination

log = logging.getLogger(__name__)


class Outbox:
    def __init__(
        self,
        services: Services,
        *,
        sessions_composer: SessionComposer | None = None,
        lease: timedelta = timedelta(minutes=1),
        batch_size: int = 50,
        parallel: int = 4,
        retry_writes_every: float = 1.0,
        status_catch_up_every: float = 5.0,
    ) -> None:
        self._services = services
        self._composer = sessions_composer
        self._lease = lease
        self._batch_size = batch_size
        self._parallel = asyncio.Semaphore(parallel)
        self._status = StatusReporter(slack=services.slack_of, database=services.database)
        self._retry_writes_every = retry_writes_every  # the database refused a write
        self._status_catch_up_every = status_catch_up_every  # Slack could not be reached
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._stopping = False
        # Readable in the database: which host and process holds a claim.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"

    def wake(self) -> None:
        self._wake.set()

    async def start(self, *, release_in_flight: bool = True) -> None:
        if release_in_flight:  # the only process on this database: in-flight rows were ours
            async with transaction(self._services.database) as db:
                released = await deliveries.release_claims(db=db)
            if released:
                log.info("picked up %d deliveries that were in flight", released)
        self._task = asyncio.create_task(self._run(), name="xenocept-outbox")
        self._renewer = asyncio.create_task(self._renew_leases(), name="xenocept-leases")

    async def stop(self, *, grace: float = 5.0) -> None:
        """Let the current pass finish (its rows stay claimed if cut short), then stop."""
        if self._task is not None:
            self._stopping = True
            self.wake()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._renewer is not None:  # rows cut short keep their lease until it expires
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.run_once()
            except Exception as error:  # keep the worker alive; the rows stay queued
                log.warning("outbox pass failed, trying again: %s", error)
                claimed = 0
            if self._status.behind:
                await self._status.catch_up()
            if not claimed and not self._stopping:
                try:
                    await self._sleep_until_due()
                except Exception as error:  # the database is unreachable: wait, then retry
                    log.warning("outbox cannot read the queue: %s", error)
                    await asyncio.sleep(self._retry_writes_every)

    @property
    def alive(self) -> bool:
        """The worker task runs (for /readyz)."""
        return self._task is not None and not self._task.done()

    async def _renew_leases(self) -> None:
        """Every third of a lease, push this worker's claims one lease further."""
        period = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                async with transaction(self._services.database) as db:
                    await deliveries.renew_leases(
                        db=db,
                        worker_id=self.worker_id,
                        until=self._services.clock() + self._lease,
                    )
            except Exception:  # the next round tries again; the lease still has 2/3 left
                log.exception("could not renew delivery leases")

    async def _sleep_until_due(self) -> None:
        async with transaction(self._services.database) as db:
            due = await deliveries.next_due_at(db=db)
        timeout = self._status_catch_up_every if self._status.behind else 30.0
        if due is not None:
            timeout = min(timeout, max(0.0, (due - self._services.clock()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def run_once(self) -> int:
        """Claim what is due and deliver it; returns how many were claimed."""
        async with transaction(self._services.database) as db:
            claimed = await deliveries.claim_due(
                db=db,
                worker_id=self.worker_id,
                now=self._services.clock(),
                lease=self._lease,
                limit=self._batch_size,
            )
        groups: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in claimed:
            groups[delivery.destination_id].append(delivery)
        await asyncio.gather(*(self._deliver_group(group) for group in groups.values()))
        return len(claimed)

    async def _deliver_group(self, group: Sequence[Delivery]) -> None:
        async with self._parallel:
            connection: SmtpConnection | None = None
            sessions = [d for d in group if d.kind is DeliveryKind.SESSION]
            if self._composer is not None:
                self._composer.expect(sessions)  # it reads the next thread while one sends
            try:
                for delivery in group:
                    try:
                        connection = await self._deliver(delivery, connection)
                    except Exception:  # never strand a claimed row: make it due again
                        log.exception("delivery %s stopped unexpectedly", delivery.id)
                        await self._release(delivery)
            finally:
                if self._composer is not None:
                    self._composer.forget(sessions)
                if connection is not None:
                    await connection.close()

    async def _deliver(
        self, delivery: Delivery, connection: SmtpConnection | None
    ) -> SmtpConnection | None:
        if delivery.status_ts is None:
            await self._status.show(delivery, messages.sending(delivery))
        started = time.monotonic()
        target: Target | None = None
        try:
            destination = await self._destination(delivery)
            target = target_of(destination, delivery)
            account = self._account(destination)
            connection, reused = await self._connection(connection, account)
            target = replace(target, size_limit=connection.size_limit)
            composed = await self._compose(
                delivery, destination, size_limit=size_budget(connection.size_limit)
            )
            connection, receipt = await self._send(connection, reused, destination, composed)
        except SendFailure as failure:
            await self._failed(delivery, failure, target)
            return None
        except NotFound:
            await self._failed(delivery, DestinationGone(), None)
            return connection
        except XenoceptError as error:
            await self._failed(delivery, error, target)
            return connection
        except Exception as error:  # a bug must end in an explained failure, not a stuck row
            log.exception("delivery %s failed unexpectedly", delivery.id)
            await self._failed(delivery, error, target)
            return None
        await self._sent(delivery, composed, receipt, time.monotonic() - started)
        return connection

    async def _destination(self, delivery: Delivery) -> Destination:
        async with transaction(self._services.database) as db:
            return await destinations.get_destination(
                db=db, owner=delivery.owner, destination_id=delivery.destination_id
            )

    def _account(self, destination: Destination) -> SmtpAccount:
        password = self._services.box.open(
            Sealed(destination.secret_key_id, destination.secret_ciphertext),
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
        self, delivery: Delivery, destination: Destination, *, size_limit: int
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
        destination: Destination,
        composed: Composed,
    ) -> tuple[SmtpConnection, SendReceipt]:
        try:
            receipt = await connection.send(
                composed.message, sender=destination.from_address, recipients=destination.recipients
            )
        except SendFailure as failure:
            await connection.close()
            if not (reused and failure.transient and failure.code is None):
                raise
            # An idle connection the server closed: one fresh try, then report.
            connection = await self._services.mailer.open(connection.account)
            receipt = await connection.send(
                composed.message, sender=destination.from_address, recipients=destination.recipients
            )
        return connection, receipt

    async def _persist(
        self,
        delivery: Delivery,
        write: Callable[[DbSession], Awaitable[None]],
    ) -> None:
        """Run ``write`` in a transaction until the database takes it.

        After an SMTP outcome the row must say what happened, or a restart would send the
        email again: a full disk or a lost database connection delays the record only."""
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

    async def _release(self, delivery: Delivery) -> None:
        attempts = delivery.attempts + 1

        async def release(db: DbSession) -> None:
            await deliveries.reschedule(
                db=db,
                delivery_id=delivery.id,
                worker_id=self.worker_id,
                at=self._services.clock() + timedelta(seconds=self._backoff(attempts)),
                attempts=attempts,
                error="Interrupted; trying again.",
            )

        await self._persist(delivery, release)

    async def _sent(
        self, delivery: Delivery, composed: Composed, receipt: SendReceipt, seconds: float
    ) -> None:
        now = self._services.clock()
        delivery.summary = composed.summary
        refused = (
            advice.for_refused_recipients([(r.recipient, r.code, r.text) for r in receipt.refused])
            if receipt.refused
            else None
        )
        outcome = f"Delivered to {', '.join(receipt.accepted)}; {refused}" if refused else "passed"

        async def record(db: DbSession) -> None:
            await deliveries.finish(
                db=db,
                delivery_id=delivery.id,
                worker_id=self.worker_id,
                status=DeliveryStatus.SENT,
                at=now,
                attempts=delivery.attempts + 1,
                summary=composed.summary,
                error=outcome if refused else None,
                duration_ms=int(seconds * 1000),
            )
            # A refused recipient is a problem to fix, even though the others got it.
            await self._record_use(db, delivery, ok=refused is None, summary=outcome, at=now)

        await self._persist(delivery, record)
        await self._status.show(
            delivery,
            messages.sent(delivery, recipients=receipt.accepted, seconds=seconds, refused=refused),
        )
        await self._refresh_home(delivery)

    async def _failed(
        self, delivery: Delivery, error: BaseException, target: Target | None
    ) -> None:
        attempts = delivery.attempts + 1
        now = self._services.clock()
        retry = (
            is_transient(error)
            and delivery.kind is DeliveryKind.SESSION
            and attempts < self._services.settings.retry_max_attempts
        )
        note = advice.for_error(error, replace(target, retried=retry) if target else None)
        delay = self._backoff(attempts)

        async def record(db: DbSession) -> None:
            if retry:
                await deliveries.reschedule(
                    db=db,
                    delivery_id=delivery.id,
                    worker_id=self.worker_id,
                    at=now + timedelta(seconds=delay),
                    attempts=attempts,
                    error=note.detail,
                )
            else:
                await deliveries.finish(
                    db=db,
                    delivery_id=delivery.id,
                    worker_id=self.worker_id,
                    status=DeliveryStatus.FAILED,
                    at=now,
                    attempts=attempts,
                    summary=delivery.summary,
                    error=f"{note.headline}: {note.detail}",
                    duration_ms=None,
                )
                await self._record_use(
                    db, delivery, ok=False, summary=f"{note.headline}: {note.detail}", at=now
                )

        await self._persist(delivery, record)
        if retry:
            await self._status.show(
                delivery, messages.retrying(delivery, note, in_seconds=delay, attempt=attempts)
            )
            return
        await self._status.show(
            delivery,
            messages.failed(
                delivery,
                note,
                attempts=attempts,
                offer_message_only=isinstance(error, ConversationUnreadable)
                and _is_thread_send(delivery),
            ),
        )
        await self._refresh_home(delivery)

    async def _refresh_home(self, delivery: Delivery) -> None:
        """Home shows each destination's last test result: keep it current after a test.

        (Opening Home republishes it anyway; this is for someone watching it.)"""
        if delivery.kind is not DeliveryKind.TEST:
            return
        try:
            await publish_home(
                self._services.database, await self._services.slack_of(delivery), delivery.owner
            )
        except Exception as error:  # Home catches up when it is next opened
            log.warning("could not refresh Home for %s: %s", delivery.user_id, error)

    def _backoff(self, attempts: int) -> float:
        base = self._services.settings.retry_base_seconds
        return float(base * (2 ** (attempts - 1)) * random.uniform(0.8, 1.2))  # noqa: S311

    @staticmethod
    async def _record_use(
        db: DbSession, delivery: Delivery, *, ok: bool, summary: str, at: datetime
    ) -> None:
        owner = delivery.owner
        with contextlib.suppress(NotFound):  # removed meanwhile: nothing to record on
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


def is_transient(error: BaseException) -> bool:
    """Worth another try later: network and 4xx SMTP trouble, Slack hiccups, our own bugs."""
    if isinstance(error, SendFailure):
        return error.transient
    if isinstance(error, SlackDataError):
        return error.error in TRANSIENT_SLACK_ERRORS
    return not isinstance(error, XenoceptError)


def target_of(destination: Destination, delivery: Delivery) -> Target:
    preset = preset_for_host(destination.smtp_host) or preset_for(destination.provider)
    return Target(
        preset=preset,
        host=destination.smtp_host,
        port=destination.smtp_port,
        username=destination.username,
        is_test=delivery.kind is DeliveryKind.TEST,
        whole_thread=_is_thread_send(delivery),
    )


def _is_thread_send(delivery: Delivery) -> bool:
    return (
        delivery.kind is DeliveryKind.SESSION
        and SendRequest.load(delivery.request_json).scope == "thread"
    )
