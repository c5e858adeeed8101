"""``xenocept share`` against the real app over HTTP: one session, and ``--watch`` on a
folder written file by file, across restarts and a bot that is down, then up."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot import share_service
from bot.errors import ShareClientError, ShareStopped
from bot.share_client import (
    Backoff,
    ShareState,
    ShareTarget,
    checked_target,
    share_once,
    watch,
)
from bot.share_keys import new_share_key
from tests.support.harness import Harness
from tests.support.share_flow import (
    SESSION_ID,
    connect,
    qa_channel,
    session_files,
    shared_messages,
    write_folder,
    zipped,
)

QUICK = 0.02  # seconds between looks at the folder
OTHER_ID = "session-2026-12-01-10-00-00.000"


def server_url(harness: Harness) -> str:
    return str(harness.http.make_url("")).rstrip("/")


async def target_for(harness: Harness, to: str = "#qa") -> ShareTarget:
    key = await connect(harness)
    qa_channel(harness)
    return checked_target(server_url(harness), key, to)


async def test_one_folder_is_posted_and_its_link_printed(harness: Harness, tmp_path: Path) -> None:
    target = await target_for(harness)
    folder = write_folder(tmp_path, session_files())
    lines: list[str] = []

    assert await share_once(target, folder, say=lines.append) == 0

    [message] = shared_messages(harness)
    link = f"https://example.slack.com/archives/C0QASHARE/p{message['ts'].replace('.', '')}"
    assert lines == [f"posted {SESSION_ID}: {link}"]
    # Again: nothing new in Slack, and it says so.
    assert await share_once(target, zip_of(tmp_path), say=lines.append) == 0
    assert lines[1] == f"already posted {SESSION_ID}: {link}"
    assert len(shared_messages(harness)) == 1


def zip_of(parent: Path) -> Path:
    path = parent / f"{SESSION_ID}.zip"
    path.write_bytes(zipped(session_files()))
    return path


async def test_refusals_exit_1_for_the_session_and_2_for_the_key(
    harness: Harness, tmp_path: Path
) -> None:
    target = await target_for(harness)
    bad = write_folder(tmp_path, session_files(id="not-an-id"), name="bad")
    lines: list[str] = []
    assert await share_once(target, bad, say=lines.append) == 1
    assert lines == [
        'This is not a Xenocept session Slack can show: "id" is not a Xenocept session id: '
        "'not-an-id'."
    ]
    forged = checked_target(target.server, new_share_key().text, "#qa")
    good = write_folder(tmp_path, session_files())
    assert await share_once(forged, good, say=lines.append) == 2
    assert "/xenocept connect" in lines[-1] and forged.key not in " ".join(lines)
    assert shared_messages(harness) == []


@pytest.mark.parametrize(
    ("server", "key", "words"),
    [
        (None, "xsk_", "say where the bot is"),
        ("ftp://bot", "xsk_", "must be the bot's http(s) address"),
        ("https://bot", None, "give your share key"),
        ("https://bot", "xoxb-123-secret", "that is not a share key"),
    ],
)
def test_a_bad_target_is_one_sentence_without_the_key(
    server: str | None, key: str | None, words: str
) -> None:
    with pytest.raises(ShareClientError) as raised:
        checked_target(server, key, "#qa")
    assert words in str(raised.value)
    assert "secret" not in str(raised.value)


# ------------------------------------------------------------------ --watch


@dataclass
class Watcher:
    """``watch`` as a task, with what it said and a count of its looks at the folder."""

    target: ShareTarget
    folder: Path
    state_file: Path
    lines: list[str] = field(default_factory=list)
    looks: int = 0
    include_existing: bool = False
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    task: asyncio.Task[None] | None = None

    def _looked(self) -> None:
        self.looks += 1
        asyncio.get_running_loop().create_task(self._notify())

    def _said(self, line: str) -> None:
        self.lines.append(line)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, check: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: check() or self._ended())

    def _ended(self) -> bool:
        if self.task is not None and self.task.done():
            self.task.result()  # the watcher's own error, if it stopped with one
            return True
        return False

    async def passes(self, count: int = 3) -> None:
        """``count`` more complete looks at the folder: enough for anything ready."""
        goal = self.looks + count
        await self.until(lambda: self.looks >= goal)

    def start(self, backoff: Backoff | None = None) -> None:
        self.task = asyncio.create_task(
            watch(
                self.target,
                self.folder,
                ShareState(self.state_file),
                interval=QUICK,
                include_existing=self.include_existing,
                say=self._said,
                backoff=backoff,
                after_pass=self._looked,
            )
        )
        self.task.add_done_callback(lambda _: self._looked())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


@asynccontextmanager
async def watching(
    target: ShareTarget, folder: Path, state: Path, backoff: Backoff | None = None
) -> AsyncIterator[Watcher]:
    watcher = Watcher(target, folder, state)
    watcher.start(backoff)
    try:
        yield watcher
    finally:
        if watcher.task is not None and not watcher.task.done():
            await watcher.stop()


async def test_a_session_written_file_by_file_is_posted_once_when_complete(
    harness: Harness, tmp_path: Path
) -> None:
    target = await target_for(harness)
    drop = tmp_path / "xenocept-file-destination"
    drop.mkdir()
    files = session_files(notes=2)
    folder = drop / SESSION_ID
    async with watching(target, drop, tmp_path / "state.json") as watcher:
        await watcher.passes()
        folder.mkdir()
        # session.json first: it names three images, none there yet.
        for name in ("session.json", "screenshot.png", "focus-0.png"):
            (folder / name).write_bytes(files[name])
            await watcher.passes()
            assert shared_messages(harness) == [], name
        # The last image arrives in two writes: half a file is not a session.
        half = len(files["focus-1.png"]) // 2
        (folder / "focus-1.png").write_bytes(files["focus-1.png"][:half])
        await watcher.passes(1)
        assert shared_messages(harness) == []
        with (folder / "focus-1.png").open("ab") as rest:
            rest.write(files["focus-1.png"][half:])

        await watcher.until(lambda: len(shared_messages(harness)) == 1)
        await watcher.passes()

    [message] = shared_messages(harness)
    assert [f["name"] for f in message["files"]] == [
        "screenshot.png", "focus-0.png", "focus-1.png", "session.json",
    ]  # fmt: skip
    assert [line.split(":")[0] for line in watcher.lines] == [f"posted {SESSION_ID}"]
    assert target.key not in json.dumps(watcher.lines)


async def test_a_restart_in_the_middle_posts_each_session_once(
    harness: Harness, tmp_path: Path
) -> None:
    target = await target_for(harness)
    drop = tmp_path / "drop"
    drop.mkdir()
    state = tmp_path / "state.json"
    async with watching(target, drop, state) as first:
        await first.passes()
        write_folder(drop, session_files())
        await first.until(lambda: len(shared_messages(harness)) == 1)
    # Stopped while the next session is half written.
    other = session_files(session_id=OTHER_ID)
    partial = write_folder(drop, {"session.json": other["session.json"]}, name=OTHER_ID)
    async with watching(target, drop, state) as second:
        await second.passes()
        assert len(shared_messages(harness)) == 1
        write_folder(drop, other, name=OTHER_ID)
        assert partial.exists()
        await second.until(lambda: len(shared_messages(harness)) == 2)
        await second.passes()
    assert [line.split(":")[0] for line in second.lines] == [f"posted {OTHER_ID}"]
    # Had the state file missed a post (a crash right after it), the bot still posts once.
    kept = json.loads(state.read_text())
    kept["posted"] = {k: v for k, v in kept["posted"].items() if OTHER_ID not in k}
    state.write_text(json.dumps(kept))
    async with watching(target, drop, state) as third:
        await third.until(lambda: any(line.startswith("already posted") for line in third.lines))
    assert len(shared_messages(harness)) == 2


async def test_the_bot_down_then_up_posts_each_session_once(
    harness: Harness, tmp_path: Path
) -> None:
    key = await connect(harness)
    qa_channel(harness)
    with socket.socket() as probe:  # a port nothing listens on, yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = checked_target(f"http://127.0.0.1:{port}", key, "#qa")
    drop = tmp_path / "drop"
    drop.mkdir()
    quick = Backoff(first=QUICK, most=4 * QUICK)
    async with watching(target, drop, tmp_path / "state.json", quick) as watcher:
        await watcher.passes()
        write_folder(drop, session_files())
        write_folder(drop, session_files(session_id=OTHER_ID), name=OTHER_ID)
        await watcher.until(lambda: sum("cannot be reached" in x for x in watcher.lines) >= 3)
        server = TestServer(harness.app.web_app(), host="127.0.0.1", port=port)
        await server.start_server()
        try:
            await watcher.until(lambda: len(shared_messages(harness)) == 2)
            await watcher.passes()
        finally:
            await server.close()
    posted = [line for line in watcher.lines if line.startswith("posted")]
    assert sorted(line.split(":")[0] for line in posted) == [
        f"posted {SESSION_ID}",
        f"posted {OTHER_ID}",
    ]
    assert len(shared_messages(harness)) == 2


async def test_a_first_watch_leaves_the_folders_history_alone(
    harness: Harness, tmp_path: Path
) -> None:
    target = await target_for(harness)
    drop = tmp_path / "drop"
    write_folder(drop, session_files())
    async with watching(target, drop, tmp_path / "state.json") as watcher:
        await watcher.passes()
        assert shared_messages(harness) == []
        write_folder(drop, session_files(session_id=OTHER_ID), name=OTHER_ID)
        await watcher.until(lambda: len(shared_messages(harness)) == 1)
    assert watcher.lines[0].startswith(f"1 session(s) already in {drop} are left as they are")


async def test_a_refused_session_is_said_once_and_skipped(harness: Harness, tmp_path: Path) -> None:
    target = await target_for(harness)
    drop = tmp_path / "drop"
    drop.mkdir()
    async with watching(target, drop, tmp_path / "state.json") as watcher:
        await watcher.passes()
        write_folder(drop, session_files(id="oops"), name="bad")
        write_folder(drop, session_files())
        await watcher.until(lambda: len(shared_messages(harness)) == 1)
        await watcher.passes(5)
    refused = [line for line in watcher.lines if "was not posted" in line]
    assert refused == [
        'bad was not posted: This is not a Xenocept session Slack can show: "id" is not a '
        "Xenocept session id: 'oops'."
    ]


async def test_the_hourly_limit_is_waited_out_as_the_bot_says(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(share_service, "SHARES_PER_HOUR", 1)
    target = await target_for(harness)
    drop = tmp_path / "drop"
    drop.mkdir()
    async with watching(target, drop, tmp_path / "state.json") as watcher:
        await watcher.passes()
        write_folder(drop, session_files())
        write_folder(drop, session_files(session_id=OTHER_ID), name=OTHER_ID)
        await watcher.until(lambda: any("retrying" in line for line in watcher.lines))
    assert watcher.lines[-1] == (
        "This key shared 1 sessions in the last hour, the most allowed: try again in 60 min; "
        "retrying in 3600 s"
    )
    assert len(shared_messages(harness)) == 1


async def test_a_revoked_key_stops_the_watch_with_the_bots_sentence(
    harness: Harness, tmp_path: Path
) -> None:
    target = await target_for(harness)
    revoked = checked_target(target.server, new_share_key().text, "#qa")
    drop = tmp_path / "drop"
    drop.mkdir()
    watcher = Watcher(revoked, drop, tmp_path / "state.json")
    watcher.start()
    await watcher.passes()
    write_folder(drop, session_files())
    with pytest.raises(ShareStopped, match="/xenocept connect"):
        await watcher.until(lambda: False)


# ------------------------------------------------------------------ the command


async def test_the_command_posts_with_the_key_from_the_environment(
    harness: Harness, tmp_path: Path
) -> None:
    target = await target_for(harness)
    folder = write_folder(tmp_path, session_files())
    env = {**os.environ, "XENOCEPT_SHARE_KEY": target.key, "XENOCEPT_SHARE_TO": "#qa"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "share", str(folder), "--server", target.server,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err
    assert out.decode().startswith(f"posted {SESSION_ID}: https://example.slack.com/archives/")
    assert target.key.encode() not in out + err
    assert len(shared_messages(harness)) == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["share"], "one of the arguments path --watch is required"),
        (["share", "--watch", "/nonexistent-drop", "--server", "https://b", "--key", "K"],
         "that is not a share key"),
        (["share", "x", "--interval", "0"], "is not a number of seconds"),
    ],
)  # fmt: skip
def test_command_mistakes_exit_2_with_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as ended:
        raise SystemExit(main(argv))
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_watching_a_folder_that_is_not_there_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    key = new_share_key().text
    code = main(["share", "--watch", "/nonexistent-drop", "--server", "https://b", "--key", key])
    assert code == 2
    err = capsys.readouterr().err
    assert "/nonexistent-drop is not a folder" in err and key not in err
