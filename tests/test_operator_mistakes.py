"""An operator's ordinary mistakes end with exit code 2 and one sentence, never a
traceback: real processes, real files, a real PostgreSQL (and one that is not there)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.crypto import new_key
from tests.support.postgres import PostgresServer
from tests.test_cli import run_cli

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-1-2",
    "SLACK_SIGNING_SECRET": "s3cret",
    "SLACK_API_URL": "http://127.0.0.1:9/api/",
}


def one_sentence(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    # `run` may have logged its start first; the sentence is the one last line.
    lines = [
        line
        for line in result.stderr.strip().splitlines()
        if " INFO " not in line and " WARNING " not in line
    ]
    assert len(lines) == 1 and lines[0].startswith("xenocept: "), result.stderr
    assert result.stderr.strip().endswith(lines[0])
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def sqlite_env(path: Path, **more: str) -> dict[str, str]:
    return {**SLACK, "XENOCEPT_DATABASE_URL": str(path), **more}


def test_version_and_keys_new_need_no_settings(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("XENOCEPT_LOG_LEVEL=verbose\nSLACK_BOT_TOKEN=xoxb-your-x\n")
    version = run_cli("--version", env={}, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("xenocept 0.")
    key = run_cli("keys", "new", env={}, cwd=tmp_path)
    assert key.returncode == 0 and len(key.stdout.strip()) == 44


def test_sqlalchemy_and_plain_url_forms_work(tmp_path: Path) -> None:
    urls = (f"sqlite:///{tmp_path}/a.db", "relative/b.db", str(tmp_path / "c.db"))
    for n, url in enumerate(urls):
        result = run_cli("db", "upgrade", env={"XENOCEPT_DATABASE_URL": url}, cwd=tmp_path)
        assert result.returncode == 0, (n, result.stderr)
    assert {p.name for p in tmp_path.rglob("*.db")} == {"a.db", "b.db", "c.db"}
    assert (tmp_path / "relative" / "b.db").exists()  # resolved against where it was started


def test_plain_postgresql_url_works(postgres: PostgresServer, tmp_path: Path) -> None:
    with postgres.database(migrated=False) as url:
        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        result = run_cli("db", "upgrade", env={"XENOCEPT_DATABASE_URL": plain}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "args", [["run", "--http", "--port", "0"], ["db", "current"], ["db", "upgrade"]]
)
def test_postgresql_that_does_not_answer(tmp_path: Path, args: list[str]) -> None:
    url = "postgresql://xenocept:hunter2-secret@127.0.0.1:9/xenocept"
    result = run_cli(
        *args,
        env={**SLACK, "XENOCEPT_DATABASE_URL": url, "XENOCEPT_SECRET_KEY": new_key()},
        cwd=tmp_path,
    )
    line = one_sentence(result, "does not answer", "127.0.0.1:9")
    assert "hunter2" not in line and "***" in line


def test_postgresql_needs_the_shared_key(tmp_path: Path) -> None:
    url = "postgresql://xenocept:pw@127.0.0.1:9/xenocept"
    result = run_cli("run", "--http", env={**SLACK, "XENOCEPT_DATABASE_URL": url}, cwd=tmp_path)
    one_sentence(result, "XENOCEPT_SECRET_KEY", "xenocept keys new")


def test_an_unknown_scheme_and_log_level(tmp_path: Path) -> None:
    one_sentence(
        run_cli("check", env={"XENOCEPT_DATABASE_URL": "mysql://x/y"}, cwd=tmp_path),
        "XENOCEPT_DATABASE_URL",
        "mysql://",
    )
    for args in (["check"], ["run"], ["db", "current"]):
        one_sentence(
            run_cli(*args, env={"XENOCEPT_LOG_LEVEL": "verbose"}, cwd=tmp_path),
            "XENOCEPT_LOG_LEVEL",
        )


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write to, root included (a read-only mount)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "xenocept.db").touch()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if not mounted:
        folder.chmod(0o500)
        probe = folder / "probe"
        try:
            probe.touch()
        except PermissionError:
            pass
        else:
            probe.unlink()
            pytest.skip("cannot make a read-only folder here (root without mount)")
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)
        folder.chmod(0o700)


def test_a_read_only_database_folder(read_only_folder: Path, tmp_path: Path) -> None:
    env = sqlite_env(read_only_folder / "xenocept.db", XENOCEPT_SECRET_KEY=new_key())
    one_sentence(
        run_cli("run", "--http", "--port", "0", env=env, cwd=tmp_path),
        "Cannot write the SQLite database",
        str(read_only_folder),
    )
    checked = run_cli("check", "--http", env=env, cwd=tmp_path)
    assert checked.returncode == 1 and "FAIL database:" in checked.stdout
    assert "read-only" in checked.stdout


def test_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "run",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=sqlite_env(tmp_path / "x.db"),
            cwd=tmp_path,
        )
    one_sentence(result, f"Port {port}", "already in use")


def test_a_port_out_of_range(tmp_path: Path) -> None:
    one_sentence(
        run_cli("run", "--http", "--port", "70000", env=SLACK, cwd=tmp_path),
        "70000",
        "not a port number",
    )


def test_a_schema_newer_than_this_version(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    assert run_cli("db", "upgrade", env=sqlite_env(database), cwd=tmp_path).returncode == 0
    with sqlite3.connect(database) as connection:
        connection.execute("update alembic_version set version_num = '9999'")
    one_sentence(run_cli("db", "upgrade", env=sqlite_env(database), cwd=tmp_path), "9999", "newer")
    current = run_cli("db", "current", env=sqlite_env(database), cwd=tmp_path)
    assert current.returncode == 1 and "newer than this version" in current.stdout
    assert "run `xenocept db upgrade`" not in current.stdout
    one_sentence(run_cli("run", "--http", env=sqlite_env(database), cwd=tmp_path), "newer")


def stored_secret(tmp_path: Path, key: str) -> Path:
    """A database holding a destination sealed with ``key`` (made through the real code)."""
    import asyncio

    from bot.app import build_secret_box
    from bot.destination_service import password_context
    from bot.settings import load_settings
    from storage import destinations, migrate
    from storage.db import create_engine, session_factory, transaction
    from storage.models import DestinationFields, Owner

    database = tmp_path / "secrets.db"

    async def make() -> None:
        settings = load_settings(XENOCEPT_DATABASE_URL=str(database), XENOCEPT_SECRET_KEY=key)
        engine = create_engine(settings.resolved_database_url())
        await migrate.upgrade(engine)
        sealed = build_secret_box(settings).seal(
            "abcd-efgh-ijkl-mnop", context=password_context("d1")
        )
        async with transaction(session_factory(engine)) as db:
            await destinations.create_destination(
                db=db,
                owner=Owner("T1", "U1"),
                destination_id="d1",
                fields=DestinationFields(
                    name="iCloud",
                    smtp_host="smtp.mail.me.com",
                    smtp_port=587,
                    username="j@icloud.com",
                    from_address="j@icloud.com",
                    to_addresses="j@x.org",
                ),
                secret_key_id=sealed.key_id,
                secret_ciphertext=sealed.ciphertext,
            )
        await engine.dispose()

    asyncio.run(make())
    return database


def test_a_wrong_or_lost_key_refuses_to_start(tmp_path: Path) -> None:
    sealed_with = new_key()
    database = stored_secret(tmp_path, sealed_with)
    wrong = sqlite_env(database, XENOCEPT_SECRET_KEY=new_key())
    one_sentence(
        run_cli("run", "--http", "--port", "0", env=wrong, cwd=tmp_path),
        "cannot open the stored secrets",
        "not configured",
    )
    key_file = tmp_path / "lost.key"
    lost = sqlite_env(database, XENOCEPT_KEY_FILE=str(key_file))
    one_sentence(
        run_cli("run", "--http", "--port", "0", env=lost, cwd=tmp_path),
        "cannot open the stored secrets",
        str(key_file),
    )
    assert not key_file.exists()  # not silently remade
    one_sentence(run_cli("keys", "rotate", env=wrong, cwd=tmp_path), "not configured")


def test_check_creates_neither_database_nor_key_file(tmp_path: Path) -> None:
    database, key_file = tmp_path / "new" / "x.db", tmp_path / "new" / "x.key"
    result = run_cli(
        "check", "--http", env=sqlite_env(database, XENOCEPT_KEY_FILE=str(key_file)), cwd=tmp_path
    )
    assert "Traceback" not in result.stderr and "created at first run" in result.stdout
    assert not database.exists() and not key_file.exists()
    assert "INFO" not in result.stderr  # no library chatter around the check's lines


def test_placeholders_of_the_other_mode_do_not_block_and_env_file_is_read(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    settings = tmp_path / "elsewhere.env"
    settings.write_text(
        f"SLACK_BOT_TOKEN=xoxb-1-2\nSLACK_APP_TOKEN=xapp-your-app-token\n"
        f"SLACK_SIGNING_SECRET=s3cret\nSSL_CERT_FILE={bundle}\n"
        f"XENOCEPT_DATABASE_URL={tmp_path / 'x.db'}\n"
    )
    result = run_cli("--env-file", str(settings), "check", "--http", env={}, cwd=tmp_path)
    assert result.stdout.startswith("ok   settings: complete for http mode"), result.stdout
    socket_mode = run_cli("--env-file", str(settings), "run", env={}, cwd=tmp_path)
    one_sentence(socket_mode, "SLACK_APP_TOKEN still holds the placeholder")
    missing = run_cli("--env-file", str(tmp_path / "nope.env"), "check", env={}, cwd=tmp_path)
    one_sentence(missing, "nope.env", "does not exist")
