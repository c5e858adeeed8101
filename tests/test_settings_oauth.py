"""Choosing between one workspace (a bot token) and many (OAuth app credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run_cli

OAUTH = {
    "SLACK_CLIENT_ID": "111.222",
    "SLACK_CLIENT_SECRET": "s3cret-client",
    "SLACK_SIGNING_SECRET": "s3cret",
}


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["run"], OAUTH, "needs `xenocept run --http`"),
        (["run", "--http"], {**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1-2"}, "not both"),
        (
            ["run", "--http"],
            {"SLACK_CLIENT_ID": "111.222", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_CLIENT_SECRET is not set",
        ),
        (
            ["run", "--http"],
            {"SLACK_CLIENT_SECRET": "s3cret-client", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_CLIENT_ID is not set",
        ),
        (
            ["run", "--http"],
            {"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "s3cret-client"},
            "SLACK_SIGNING_SECRET is not set",
        ),
    ],
)
def test_refused_with_one_sentence(
    tmp_path: Path, args: list[str], env: dict[str, str], words: str
) -> None:
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
