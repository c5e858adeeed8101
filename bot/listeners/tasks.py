"""The listeners at work, tracked by us so that a shutdown can let them finish.

Bolt runs what a listener does after ``ack()`` as a task it does not expose; every handler
is wrapped at registration, so its task is known without relying on Bolt's internals.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
Listener = Callable[..., Awaitable[None]]  # Bolt passes what the parameter names ask for


class ListenerTasks:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> int:
        return len(self._running)

    def track(self, handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        """``handler`` as Bolt sees it (same arguments, via ``__wrapped__``), tracked."""

        @functools.wraps(handler)
        async def tracked(*args: P.args, **kwargs: P.kwargs) -> R:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                return await handler(*args, **kwargs)
            finally:
                if task is not None:
                    self._running.discard(task)

        return tracked

    async def finish(self, *, grace: float) -> int:
        """Wait up to ``grace`` seconds for running listeners; returns how many were cut."""
        current = asyncio.current_task()
        running = [task for task in self._running if task is not current]
        if not running:
            return 0
        _done, pending = await asyncio.wait(running, timeout=grace)
        return len(pending)
