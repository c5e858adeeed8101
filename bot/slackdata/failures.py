"""A failed Web API call as one ``SlackDataError``: Slack's own error code when it
answered, ``slack_unreachable`` when it did not."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.errors import SlackDataError


def slack_data_error(error: Exception, method: str) -> SlackDataError:
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or "unknown_error")
        return SlackDataError(error=code, method=method)
    return SlackDataError(error="slack_unreachable", method=method)
