"""users.info, cached for one delivery and, between deliveries, for a few minutes."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slackdata.clean import without_lone_surrogates
from bot.slackdata.failures import slack_data_error
from bot.slackdata.recent import RecentAnswers


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str  # display name, else real name, else handle, else the id
    time_zone: str  # IANA name; "UTC" when Slack gives none
    is_bot: bool = False


def person_from(user: dict[str, object]) -> Person:
    user = without_lone_surrogates(user)
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    name = next(
        (
            str(v)
            for v in (
                profile.get("display_name"),
                profile.get("real_name"),
                user.get("real_name"),
                user.get("name"),
            )
            if v
        ),
        "",
    )
    return Person(
        user_id=str(user.get("id", "")),
        name=name or str(user.get("id", "someone")),
        time_zone=str(user.get("tz") or "UTC"),
        is_bot=bool(user.get("is_bot")),
    )


class PeopleCache(RecentAnswers[Person]):
    """users.info answers kept between deliveries for ``ttl`` seconds (at most ``size``).

    A team forwarding many threads meets the same people in each: without this, every
    delivery asks Slack again for every author (one call each, under Slack's rate limits).
    Names and time zones change rarely; a few minutes of staleness is the price.
    """

    def put(self, person: Person) -> None:
        self.remember(person.user_id, person)


class People:
    """Looks people up once each; unknown or unreadable users keep their id as name.

    With a ``shared`` cache, people another delivery looked up recently cost no call;
    a failed lookup is remembered only for this delivery.
    """

    def __init__(self, client: AsyncWebClient, shared: PeopleCache | None = None) -> None:
        self._client = client
        self._shared = shared
        self._cache: dict[str, Person] = {}

    async def get(self, user_id: str) -> Person:
        if user_id not in self._cache:
            known = self._shared.get(user_id) if self._shared is not None else None
            if known is not None:
                self._cache[user_id] = known
                return known
            try:
                response = await self._client.users_info(user=user_id)
                person = person_from(response["user"])
            except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError):
                self._cache[user_id] = Person(user_id=user_id, name=user_id, time_zone="UTC")
            else:
                self._cache[user_id] = person
                if self._shared is not None:
                    self._shared.put(person)
        return self._cache[user_id]

    def known(self) -> dict[str, str]:
        return {user_id: person.name for user_id, person in self._cache.items()}


async def is_workspace_admin(client: AsyncWebClient, user_id: str) -> bool:
    """Whether Slack says ``user_id`` is an owner or admin of the workspace (users.info).
    Any failure to ask counts as no: an admin action is refused rather than allowed."""
    try:
        answer = await client.users_info(user=user_id)
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        return False
    user = answer.get("user") or {}
    return any(bool(user.get(flag)) for flag in ("is_owner", "is_admin", "is_primary_owner"))


async def has_left(client: AsyncWebClient, user_id: str) -> bool:
    """Whether the user's Slack account is deactivated (users.info says ``deleted``);
    ``SlackDataError`` when Slack will not say."""
    try:
        answer = await client.users_info(user=user_id)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
        failure = slack_data_error(error, "users.info")
        if failure.error == "user_not_found":
            return True
        raise failure from None
    return bool((answer.get("user") or {}).get("deleted"))
