"""users.info, cached for the life of one delivery (or one batch)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str  # display name, else real name, else handle, else the id
    time_zone: str  # IANA name; "UTC" when Slack gives none
    is_bot: bool = False


def person_from(user: dict[str, object]) -> Person:
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    name = next((str(v) for v in (profile.get("display_name"), profile.get("real_name"),
                                   user.get("real_name"), user.get("name")) if v), "")
    return Person(
        user_id=str(user.get("id", "")), name=name or str(user.get("id", "someone")),
        time_zone=str(user.get("tz") or "UTC"), is_bot=bool(user.get("is_bot")),
    )


class People:
    """Looks people up once each; unknown or unreadable users keep their id as name."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._cache: dict[str, Person] = {}

    async def get(self, user_id: str) -> Person:
        if user_id not in self._cache:
            try:
                response = await self._client.users_info(user=user_id)
                self._cache[user_id] = person_from(response["user"])
            except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError):
                self._cache[user_id] = Person(user_id=user_id, name=user_id, time_zone="UTC")
        return self._cache[user_id]

    def known(self) -> dict[str, str]:
        return {user_id: person.name for user_id, person in self._cache.items()}
