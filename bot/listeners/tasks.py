"""The listeners at work, tracked by us so that a shutdown can let them finish, and
answered the moment they ``ack()``.

Every handler is wrapped at registration. The wrapper runs the handler as a task of its
own and returns to Bolt as soon as the handler has called ``ack()`` (or has finished);
the rest of the handler, the slow work after the ack, goes on in that task. The app runs
Bolt with ``process_before_response=True``, so Bolt answers Slack as soon as the wrapper
returns. Bolt's default instead runs the handler in a task it does not expose and looks
for the ack every 10 ms, so every answer waited for the next look: 10–20 ms at one
request at a time, and at 50 in flight hundreds of wake-ups a second for nothing
(measured, BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

Listener = Callable[..., Coroutine[Any, Any, None]]  # Bolt passes what the names ask for
# Slack's limit: after it Slack shows an error whatever we answer, so stop waiting for it.
ACK_TIMEOUT_SECONDS = 3.0


class SignallingAck(AsyncAck):
    """Bolt's ``ack`` for one request, that also wakes the wrapper waiting for it."""

    def __init__(self, bolt_ack: AsyncAck, answered: asyncio.Future[None]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Bolt's is unannotated
        self._bolt_ack = bolt_ack
        self._answered = answered
        self.called = False

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            return await self._bolt_ack(*args, **kwargs)
        finally:
            self.called = True
            _settle(self._answered)


class ListenerTasks:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        return len(self._running)

    def track(self, handler: Listener) -> Listener:
        """``handler`` as Bolt sees it (same arguments, via ``__wrapped__``), tracked."""

        @functools.wraps(handler)
        async def tracked(**kwargs: Any) -> None:
            loop = asyncio.get_running_loop()
            # Set at the ack, when the handler ends, or at Slack's limit: a plain future,
            # so the wrapper wakes one turn of the loop after the ack (a busy loop's turns
            # are what an answer waits for).
            answered: asyncio.Future[None] = loop.create_future()
            bolt_ack = kwargs.get("ack")
            ack = SignallingAck(bolt_ack, answered) if isinstance(bolt_ack, AsyncAck) else None
            if ack is not None:
                kwargs["ack"] = ack
            task = asyncio.create_task(handler(**kwargs), name=f"listener {handler.__name__}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            if ack is None:  # an event: Bolt acknowledges it once this returns
                task.add_done_callback(_log_failure)
                return
            task.add_done_callback(lambda _: _settle(answered))
            timer = loop.call_later(ACK_TIMEOUT_SECONDS, _settle, answered)
            try:
                await answered
            finally:
                timer.cancel()
            if task.done() and not ack.called:
                task.result()  # failed before its ack: Bolt's error handler, a 500
                return
            task.add_done_callback(_log_failure)  # failed after it: Slack has its answer

        return tracked

    async def finish(self, *, grace: float) -> int:
        """Wait up to ``grace`` seconds for running listeners; returns how many were cut."""
        running = list(self._running)
        if not running:
            return 0
        _done, pending = await asyncio.wait(running, timeout=grace)
        return len(pending)


def _settle(answered: asyncio.Future[None]) -> None:
    if not answered.done():
        answered.set_result(None)


def _log_failure(task: asyncio.Task[None]) -> None:
    """What Bolt's error handler said for a listener that failed after its ack."""
    if task.cancelled() or task.exception() is None:
        return
    error = task.exception()
    log.error("%s failed after its ack: %s", task.get_name(), type(error).__name__, exc_info=error)
