"""manifest.yml and the listeners name the same things, both ways.

Forward: every command, shortcut and event the manifest declares is sent through the real
app as a signed request and handled (Bolt answers 404 to what no listener takes).
Reverse: everything registered is declared in the manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.listeners.commands import COMMANDS
from bot.listeners.events import EVENTS, QUEUED_BEFORE_ACK
from bot.listeners.shortcuts import SHORTCUTS
from tests.support.harness import JANE, Harness

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def declared() -> tuple[set[str], dict[str, str], set[str]]:
    features = manifest()["features"]
    commands = {c["command"] for c in features["slash_commands"]}
    shortcuts = {s["callback_id"]: s["type"] for s in features["shortcuts"]}
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    return commands, shortcuts, events


def test_everything_registered_is_declared() -> None:
    commands, shortcuts, events = declared()
    assert set(COMMANDS) == commands
    assert set(SHORTCUTS) == set(shortcuts)
    # message.channels and message.groups both arrive as the "message" event.
    assert set(EVENTS) | set(QUEUED_BEFORE_ACK) == {event.split(".")[0] for event in events}


async def test_everything_declared_is_handled(harness: Harness) -> None:
    commands, shortcuts, events = declared()
    requests = harness.requests
    for command in commands:
        status, _ = await harness.send(
            requests.slash_command(
                user_id=JANE,
                text="help",
                command=command,
                response_url=harness.slack.response_url(),
            )
        )
        assert status == 200, command
    for callback_id, kind in shortcuts.items():
        payload = (
            requests.global_shortcut(user_id=JANE, callback_id=callback_id)
            if kind == "global"
            else requests.message_shortcut(
                user_id=JANE,
                callback_id=callback_id,
                channel_id="C111",
                channel_name="general",
                message={"type": "message", "user": JANE, "ts": "1700000000.000100", "text": "hi"},
                response_url=harness.slack.response_url(),
            )
        )
        status, _ = await harness.action(payload)
        assert status == 200, callback_id
    for event in events:
        status, _ = await harness.send(
            requests.event(
                {"type": event.split(".")[0], "user": JANE, "channel": "D111", "tab": "home"}
            )
        )
        assert status == 200, event


def test_the_manifest_fits_slack_limits_and_socket_mode() -> None:
    data = manifest()
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert len(data["display_information"]["name"]) <= 35
    assert 175 <= len(data["display_information"]["long_description"]) <= 4000
    for shortcut in data["features"]["shortcuts"]:
        assert len(shortcut["name"]) <= 24 and len(shortcut["description"]) <= 150
    assert "commands" in data["oauth_config"]["scopes"]["bot"]
