"""The outbox in its own process, started and watched by ``xenocept run``.

Deliveries (render, SMTP, Slack status) cost CPU that would otherwise share the event
loop, and the interpreter, that answers Slack within its 3 seconds. ``xenocept run``
therefore starts ``xenocept worker`` as a child and talks to it over its stdin:

- ``wake`` — a send was queued: look at the queue now (the row is already committed);
- ``stop`` — finish the current pass, then exit 0 (the parent's graceful stop);
- end of file — the parent is gone (killed, crashed): exit at once, as if killed with it,
  so that a restarted bot does not share the queue with an orphan still sending.

The child says ``ready`` on its stdout once its outbox runs. A child that exits while
the parent still runs is started again after a pause that doubles up to a minute;
meanwhile ``/readyz`` says the worker is not running. Rows it had claimed are taken back
by the next child (SQLite) or when their lease lapses (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.errors import XenoceptError

log = logging.getLogger(__name__)

WAKE = b"wake\n"
STOP = b"stop\n"
READY = b"ready\n"
START_TIMEOUT_SECONDS = 60.0  # imports, migrations check, the first claim
RESTART_FIRST_PAUSE = 1.0
RESTART_LONGEST_PAUSE = 60.0
ORPHAN_EXIT_CODE = 70  # EX_SOFTWARE: not a clean stop, the parent vanished


class WorkerDidNotStart(XenoceptError):
    """The outbox process exited before it was ready (its own log says why)."""


def worker_command(env_file: Path | None) -> list[str]:
    """``xenocept worker`` run by this interpreter, with the parent's settings file."""
    argv = [sys.executable, "-m", "bot"]
    if env_file is not None:
        argv += ["--env-file", str(env_file)]
    return [*argv, "worker"]


class WorkerProcess:
    """The parent's handle on the outbox child: start, wake, watch, stop."""

    def __init__(self, argv: Sequence[str]) -> None:
        self._argv = list(argv)
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = False

    @property
    def alive(self) -> bool:
        """The child runs and said it is ready (for /readyz)."""
        process = self._process
        return self._ready and process is not None and process.returncode is None

    async def start(self) -> None:
        await self._spawn()
        self._watcher = asyncio.create_task(self._watch(), name="xenocept-worker-watch")

    def wake(self) -> None:
        self._send(WAKE)

    async def stop(self, *, grace: float = 5.0) -> None:
        """Ask the child to finish its pass; kill it if it has not after ``grace`` + 5 s."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        process = self._process
        if process is None or process.returncode is not None:
            return
        self._send(STOP)
        try:
            await asyncio.wait_for(process.wait(), grace + 5.0)
        except TimeoutError:
            log.warning("the outbox worker did not stop in time; killing it")
            process.kill()
            await process.wait()
        if process.returncode not in (0, None):
            log.warning("the outbox worker exited with code %s", process.returncode)

    def _send(self, line: bytes) -> None:
        process = self._process
        if process is None or process.returncode is not None or process.stdin is None:
            return  # the queue is durable: the next child looks at it when it starts
        if process.stdin.is_closing():
            return
        process.stdin.write(line)

    async def _spawn(self) -> None:
        self._ready = False
        self._process = process = await asyncio.create_subprocess_exec(
            *self._argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                line = await process.stdout.readline()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise WorkerDidNotStart(
                f"The outbox worker did not start within {START_TIMEOUT_SECONDS:.0f} s."
            ) from None
        if line != READY:
            code = await process.wait()
            raise WorkerDidNotStart(
                f"The outbox worker stopped while starting (exit code {code}); its log "
                "line above says why."
            )
        self._ready = True

    async def _watch(self) -> None:
        pause = RESTART_FIRST_PAUSE
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            log.error(
                "the outbox worker exited (code %s); starting it again in %.0f s", code, pause
            )
            await asyncio.sleep(pause)
            try:
                await self._spawn()
                log.warning("the outbox worker runs again")
                pause = RESTART_FIRST_PAUSE
            except WorkerDidNotStart as error:
                log.error("%s", error)
                pause = min(pause * 2, RESTART_LONGEST_PAUSE)


async def serve_as_worker(
    start: Callable[[], Awaitable[None]],
    wake: Callable[[], None],
    stop: Callable[[], Awaitable[None]],
) -> None:
    """The child's side: run until the parent says stop (or SIGTERM), die with it on EOF."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    stopping = asyncio.Event()
    # The parent coordinates a terminal's Ctrl-C; systemd may SIGTERM the whole group.
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    await start()
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()

    async def listen() -> None:
        while line := await reader.readline():
            if line == WAKE:
                wake()
            elif line == STOP:
                stopping.set()
                return
        os._exit(ORPHAN_EXIT_CODE)  # the parent is gone: stop sending at once, like it

    listener = asyncio.create_task(listen())
    await stopping.wait()
    listener.cancel()
    await stop()
