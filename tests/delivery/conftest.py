"""Fixtures of the delivery tests that run the real bot process."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tests.support.bot_process import bot_environment
from tests.support.slack_standin import SlackStandIn


@pytest.fixture
def bot_env(tmp_path: Path, slack: SlackStandIn, ca: trustme.CA) -> dict[str, str]:
    return bot_environment(tmp_path, slack, ca)
