"""The outbox worker's loop: claims due deliveries and schedules them.

A delivery row is written (and committed) before Slack gets its ack, so nothing
acknowledged is lost. Claims are leases: a live worker renews its own, and a worker that
died (its lease expired) has its rows taken over by any instance on the same database; a
SQLite bot, the only process on its file, takes back everything in flight at start-up.
Deliveries to the same destination that are due together share one SMTP connection.

Each delivery is a ``DeliveryStep`` (``step.py``: row → SMTP answer) whose outcome the
``OutcomeRecorder`` (``outcomes.py``) stores and reports, under the ``RetryPolicy``
(``retry.py``); Slack status messages are the ``StatusReporter``'s (``status.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot import follow_service
from bot.delivery import retention
from bot.delivery.compose import SessionComposer
from bot.delivery.outcomes import OutcomeRecorder
from bot.delivery.retry import RetryPolicy
from bot.delivery.status import StatusReporter
from bot.delivery.step import Deferred, DeliveryStep, Sent
from bot.mail.smtp import SmtpConnection
from bot.services import Services
from bot.views import messages
from storage import deliveries, follows
from storage.db import transaction
from storage.models import Delivery, DeliveryKind

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
        sweep_every: timedelta = timedelta(hours=1),
    ) -> None:
        self._services = services
        self._composer = sessions_composer
        self._lease = lease
        self._batch_size = batch_size
        self._parallel = asyncio.Semaphore(parallel)
        self._status = StatusReporter(slack=services.slack_of, database=services.database)
        self._retry_writes_every = retry_writes_every  # the database refused a write
        self._status_catch_up_every = status_catch_up_every  # Slack could not be reached
        self._sweep_every = sweep_every
        self._next_sweep: datetime | None = None  # the first idle moment sweeps
        # When the next daily digest falls due (None: none is); the first pass looks.
        self._digest_due_at: datetime | None = datetime.min.replace(tzinfo=UTC)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._stopping = False
        # Readable in the database: which host and process holds a claim.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._step = DeliveryStep(services, composer=sessions_composer)
        self._outcomes = OutcomeRecorder(
            services,
            worker_id=self.worker_id,
            retry=RetryPolicy(
                base_seconds=services.settings.retry_base_seconds,
                max_attempts=services.settings.retry_max_attempts,
            ),
            status=self._status,
            retry_writes_every=retry_writes_every,
        )

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
                await self._digests_when_due()
                claimed = await self.run_once()
            except Exception as error:  # keep the worker alive; the rows stay queued
                log.warning("outbox pass failed, trying again: %s", error)
                claimed = 0
            if self._status.behind:
                await self._status.catch_up()
            if not claimed and not self._stopping:
                await self._sweep_when_due()
                try:
                    await self._sleep_until_due()
                except Exception as error:  # the database is unreachable: wait, then retry
                    log.warning("outbox cannot read the queue: %s", error)
                    await asyncio.sleep(self._retry_writes_every)

    async def _sweep_when_due(self) -> None:
        """Retention, when the queue is idle, at most once per ``sweep_every``."""
        now = self._services.clock()
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every
        try:
            await retention.sweep(self._services)
        except Exception as error:  # the next sweep tries again; nothing depends on it
            log.warning("retention sweep failed: %s", error)

    async def _digests_when_due(self) -> None:
        """Daily digests become deliveries once their time comes (known from the last
        idle look at the queue; the first pass looks in any case)."""
        due = self._digest_due_at
        if due is None or self._services.clock() < due:
            return
        self._digest_due_at = None  # until the next idle look says when
        await follow_service.enqueue_due_digests(self._services)

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
            self._digest_due_at = await follows.next_digest_at(db=db)
        if self._digest_due_at is not None:
            due = min(due, self._digest_due_at) if due is not None else self._digest_due_at
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
                        await self._outcomes.release(delivery)
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
        outcome, connection = await self._step.run(delivery, connection)
        if isinstance(outcome, Sent):
            await self._outcomes.sent(delivery, outcome)
        elif isinstance(outcome, Deferred):
            await self._outcomes.deferred(delivery, outcome)
        else:
            await self._outcomes.failed(delivery, outcome)
        return connection
