"""manifest.distributed.yml (many workspaces through OAuth, HTTP) declares exactly what
manifest.yml does, points every URL at our routes, and asks for the scopes the OAuth
install flow requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.listeners.options import OPTIONS
from bot.oauth import BOT_SCOPES

REPO = Path(__file__).resolve().parent.parent


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / name).read_text())
    assert isinstance(data, dict)
    return data


def strip_urls(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: strip_urls(value)
            for key, value in data.items()
            if key
            not in (
                "url",
                "request_url",
                "message_menu_options_url",
                "redirect_urls",
                "socket_mode_enabled",
            )
        }
    if isinstance(data, list):
        return [strip_urls(item) for item in data]
    return data


def test_same_app_as_the_single_workspace_manifest() -> None:
    single, distributed = load("manifest.yml"), load("manifest.distributed.yml")
    assert strip_urls(single) == strip_urls(distributed)


def test_http_urls_and_the_oauth_redirect() -> None:
    data = load("manifest.distributed.yml")
    settings = data["settings"]
    assert settings["socket_mode_enabled"] is False
    urls = [command["url"] for command in data["features"]["slash_commands"]]
    urls += [
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    if OPTIONS:  # external_select menus ask for their options at this URL
        urls.append(settings["interactivity"]["message_menu_options_url"])
    assert {urlsplit(url).path for url in urls} == {"/slack/events"}
    [redirect] = data["oauth_config"]["redirect_urls"]
    assert urlsplit(redirect).path == "/slack/oauth_redirect"
    assert all(url.startswith("https://") for url in [*urls, redirect])
    assert {"app_uninstalled", "tokens_revoked"} <= set(
        settings["event_subscriptions"]["bot_events"]
    )


def test_the_install_flow_asks_for_the_manifests_scopes() -> None:
    for name in ("manifest.yml", "manifest.distributed.yml"):
        assert set(load(name)["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
