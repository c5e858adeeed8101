"""Listeners we track ourselves: answered at their ack, finished before a shutdown."""

from __future__ import annotations

import asyncio

import pytest
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.listeners.tasks import ListenerTasks
from tests.support.harness import Harness


def bolt_ack() -> AsyncAck:
    """The ``ack`` Bolt passes a listener for one request."""
    return AsyncAck()  # type: ignore[no-untyped-call]  # Bolt's __init__ is unannotated


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


async def test_bolt_gets_the_answer_at_the_ack_while_the_listener_goes_on() -> None:
    tasks = ListenerTasks()
    release = asyncio.Event()
    after_ack: list[str] = []

    async def listener(ack: AsyncAck) -> None:
        await ack(text="queued")
        await release.wait()  # the slow work after the ack
        after_ack.append("done")

    ack = bolt_ack()
    await asyncio.wait_for(tasks.track(listener)(ack=ack), 1)
    assert ack.response is not None and ack.response.body == "queued"
    assert after_ack == [] and tasks.running == 1
    release.set()
    assert await tasks.finish(grace=5) == 0
    assert after_ack == ["done"]


async def test_a_listener_failing_before_its_ack_fails_the_request() -> None:
    async def listener(ack: AsyncAck) -> None:
        raise RuntimeError("before the ack")

    with pytest.raises(RuntimeError, match="before the ack"):
        await ListenerTasks().track(listener)(ack=bolt_ack())


async def test_a_listener_failing_after_its_ack_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = ListenerTasks()
    release = asyncio.Event()

    async def send_later(ack: AsyncAck) -> None:
        await ack()
        await release.wait()
        raise RuntimeError("after the ack")

    ack = bolt_ack()
    await tasks.track(send_later)(ack=ack)
    assert ack.response is not None and ack.response.status == 200
    release.set()
    assert await tasks.finish(grace=5) == 0
    assert "listener send_later failed after its ack: RuntimeError" in caplog.text
