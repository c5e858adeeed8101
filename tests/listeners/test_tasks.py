"""Shutdown waits for listeners we track ourselves, not for Bolt's private task names."""

from __future__ import annotations

import asyncio

from bot.listeners.tasks import ListenerTasks
from tests.support.harness import Harness


async def test_finish_waits_for_a_running_listener_and_reports_what_it_cut() -> None:
    tasks = ListenerTasks()
    release = asyncio.Event()
    finished: list[str] = []

    async def slow_listener(ack: object, body: object) -> None:
        await release.wait()
        finished.append("done")

    tracked = tasks.track(slow_listener)

    async def run() -> None:
        await tracked(ack=None, body=None)

    running = asyncio.create_task(run())
    await asyncio.sleep(0)  # let it start
    assert tasks.running == 1
    assert await tasks.finish(grace=0.01) == 1  # cut short: it is still waiting
    release.set()
    assert await tasks.finish(grace=5) == 0
    await running
    assert finished == ["done"] and tasks.running == 0


async def test_every_registered_listener_is_tracked(harness: Harness) -> None:
    listeners = harness.app.slack._async_listeners  # Bolt's registry, read only here
    assert listeners
    for listener in listeners:
        function = listener.ack_function
        assert getattr(function, "__wrapped__", None) is not None, function
