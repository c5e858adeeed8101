"""`xenocept` refuses bad settings with exit code 2 and one plain sentence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(REPO), **env},
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "variable"),
    [
        (["run"], {}, "SLACK_BOT_TOKEN"),
        (["run"], {"SLACK_BOT_TOKEN": "xoxb-1-2"}, "SLACK_APP_TOKEN"),
        (["run", "--http"], {"SLACK_BOT_TOKEN": "xoxb-1-2"}, "SLACK_SIGNING_SECRET"),
        (
            ["run"],
            {"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1"},
            "SLACK_BOT_TOKEN",
        ),
        (["run"], {"SLACK_BOT_TOKEN": "xoxb-your-bot-token"}, "SLACK_BOT_TOKEN"),
        (["run"], {"XENOCEPT_RETRY_MAX_ATTEMPTS": "many"}, "XENOCEPT_RETRY_MAX_ATTEMPTS"),
        (["run"], {"XENOCEPT_SMTP_ALLOW_HOSTS": "10.0.0.0/99"}, "XENOCEPT_SMTP_ALLOW_HOSTS"),
    ],
)
def test_bad_settings_exit_2_with_one_sentence(
    tmp_path: Path, args: list[str], env: dict[str, str], variable: str
) -> None:
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\n")
    result = run_cli("run", env={}, cwd=tmp_path)
    assert result.returncode == 2 and "SLACK_APP_TOKEN" in result.stderr  # the token was found


def test_keys_new_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new"]) == 0
    from bot.crypto import parse_key

    assert len(parse_key(capsys.readouterr().out, source="x")) == 32
