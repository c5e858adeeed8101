"""Child processes: servers under test (the bot, the bare Bolt app) and one-shot runners.

A one-shot runner (``python -m bench.child KIND CONFIG``) prints ``GO`` the moment its
timed part starts (the orchestrator stamps its own clock then, so the SMTP server's
arrival times and the start share one clock) and ``RESULT {json}`` at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.world import REPO, python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerChild:
    """A long-running HTTP server process on 127.0.0.1 with ``GET /healthz``."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], port: int, label: str
    ) -> None:
        self.name = name
        self.label = label
        self.log: Path | None = None  # where its stderr goes (None: this process's)
        self.argv = argv
        self.env = env
        self.port = port
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        # BENCH_PROFILE="py-spy record -f raw -o /tmp/{name}.txt --" wraps each server
        # child in a profiler ({name}: ours or bare), for the profiles in BENCHMARKS.md.
        wrapper = os.environ.get("BENCH_PROFILE", "").replace("{name}", self.label)
        argv = [*shlex.split(wrapper), *self.argv]
        stderr = self.log.open("ab") if self.log is not None else None
        try:
            self.process = await asyncio.create_subprocess_exec(
                *argv, env=self.env, cwd=REPO, stderr=stderr
            )
        finally:
            if stderr is not None:
                stderr.close()  # the child has its own copy
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)
        await self.stop()
        raise RuntimeError(f"{self.name} did not start (exit code {self.process.returncode})")

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU used so far (user + system) by this server and by its child processes (the
        bot's outbox worker), from /proc."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return _cpu_of(pid), sum(_cpu_of(int(child)) for child in children)

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)  # the CLI's KeyboardInterrupt path: a clean stop
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # exited meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bot_server(env: dict[str, str], label: str = "ours") -> ServerChild:
    """The product itself: ``xenocept run --http`` (as ``python -m bot``)."""
    port = free_port()
    return ServerChild(
        "xenocept run --http",
        [python(), "-m", "bot", "run", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env,
        port,
        label,
    )


def bare_server(env: dict[str, str]) -> ServerChild:
    port = free_port()
    return ServerChild(
        "bare Bolt app", [python(), "-m", "bench.bare_app", "--port", str(port)], env, port, "bare"
    )


async def run_child(
    kind: str,
    config: dict[str, Any],
    env: dict[str, str],
    on_go: Callable[[], None] | None = None,
    timeout: float = 600.0,  # noqa: ASYNC109
    clean_rss: bool = False,
) -> dict[str, Any]:
    """Run ``python -m bench.child KIND`` with ``config`` on stdin; return its RESULT.

    ``clean_rss``: Linux hands a child the parent's peak RSS as its starting ru_maxrss
    (it survives fork + exec), and this orchestrator holds the stand-ins' data. Started
    from a shell that forks it, the child's ru_maxrss counts only its own memory.
    """
    argv = [python(), "-m", "bench.child", kind]
    wrapper = os.environ.get("BENCH_PROFILE", "").replace("{name}", kind)
    argv = [*shlex.split(wrapper), *argv]  # profiles (see ServerChild.start): {name} = kind
    if clean_rss:
        argv = ["/bin/sh", "-c", '"$@"; exit $?', "sh", *argv]  # sh forks, not execs
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(config).encode())
    await process.stdin.drain()
    process.stdin.close()
    result: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(timeout):
            async for line in process.stdout:
                text = line.decode().strip()
                if text == "GO" and on_go is not None:
                    on_go()
                elif text.startswith("RESULT "):
                    result = json.loads(text.removeprefix("RESULT "))
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"bench child {kind} timed out after {timeout:.0f} s") from None
    if process.returncode != 0 or result is None:
        raise RuntimeError(f"bench child {kind} failed (exit code {process.returncode})")
    return result
