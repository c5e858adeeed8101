"""A real PostgreSQL server for the test session: Debian's binaries, a temp directory,
a loopback port, trust authentication for one superuser.

PostgreSQL refuses to run as root, so when the tests run as root (as CI does) the server
runs as the ``postgres`` system user that Debian's package creates (or ``nobody``).
Each xdist worker starts its own server. Every test gets its own database, copied from a
template that already holds the migrated schema.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.db import create_engine
from storage.migrate import upgrade

SUPERUSER = "xenocept"
TEMPLATE = "xenocept_template"
SEARCH = "/usr/lib/postgresql/*/bin"


def find_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has initdb and pg_ctl."""
    found = [
        folder
        for folder in Path("/").glob(SEARCH.lstrip("/"))
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file()
    ]

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name))

    return max(found, key=version) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Who runs the server: ourselves unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


class PostgresServer:
    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.user = _unprivileged_user()
        # Not under pytest's tmp_path: that is private to root, and the server is not root.
        self.root = Path(tempfile.mkdtemp(prefix="xenocept-pg-"))
        self.data = self.root / "data"
        self.port = 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self.user
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=check,
            cwd=self.root,
            timeout=120,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            env={
                "PATH": f"{self.binaries}:/usr/bin:/bin",
                "LC_ALL": "C.UTF-8",
                "HOME": str(self.root),
            },
        )

    def start(self) -> None:
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self._run(
            str(self.binaries / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        for _ in range(5):  # another process may take the port between choosing and binding
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300"
            )
            started = self._run(
                str(self.binaries / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
                check=False,
            )
            if started.returncode == 0:
                break
        else:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
        self.admin(f"CREATE DATABASE {TEMPLATE}")
        asyncio.run(self._migrate(self.url(TEMPLATE)))

    @staticmethod
    async def _migrate(url: str) -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    def stop(self) -> None:
        if self.port:
            self._run(
                str(self.binaries / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        subprocess.run(
            [
                str(self.binaries / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    @contextmanager
    def database(self, *, migrated: bool = True) -> Iterator[str]:
        """A fresh database (a copy of the migrated template, or empty); dropped after."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE if migrated else 'template0'}")
        try:
            yield self.url(name)
        finally:
            self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
