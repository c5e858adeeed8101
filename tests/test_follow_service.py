"""The follow command's words and digest times: pure, no Slack, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.follow_service import FollowAsk, next_digest, parse_follow, posted_message
from storage.models import FollowMode


@pytest.mark.parametrize(
    ("text", "ask"),
    [
        ("#qa", FollowAsk("#qa")),
        ("<#C1|qa> all", FollowAsk("<#C1|qa>", None, FollowMode.ALL)),
        ("#qa Work Mail sessions", FollowAsk("#qa", "Work Mail", FollowMode.SESSIONS)),
        ("#qa daily 8:05", FollowAsk("#qa", None, FollowMode.SESSIONS, "08:05")),
        ("#qa Home all daily 23:59", FollowAsk("#qa", "Home", FollowMode.ALL, "23:59")),
        ("#qa ALL", FollowAsk("#qa", None, FollowMode.ALL)),
    ],
)
def test_the_follow_command_reads_as_the_help_shows_it(text: str, ask: FollowAsk) -> None:
    assert parse_follow(text) == ask


@pytest.mark.parametrize("text", ["", "   ", "#qa daily", "#qa daily 24:00", "#qa daily 7pm"])
def test_what_is_not_a_follow_gets_the_usage(text: str) -> None:
    assert parse_follow(text) is None


def test_the_next_digest_is_the_next_time_on_the_followers_clock() -> None:
    morning = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    assert next_digest("08:30", "Europe/Berlin", morning) == datetime(
        2026, 12, 2, 7, 30, tzinfo=UTC
    )
    evening = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    assert next_digest("08:30", "Europe/Berlin", evening) == datetime(
        2026, 12, 3, 7, 30, tzinfo=UTC
    )
    exactly = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # the digest just sent: the next day
    assert next_digest("08:30", "Europe/Berlin", exactly).day == 3


def test_the_digest_keeps_its_local_time_across_a_clock_change() -> None:
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Berlin moves to summer time on the 29th
    assert next_digest("08:00", "Europe/Berlin", before) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    unknown = next_digest("08:00", "Not/AZone", before)
    assert unknown == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # an unknown zone reads as UTC


def test_a_posted_message_drops_the_events_envelope() -> None:
    event = {
        "type": "message",
        "channel": "C1",
        "channel_type": "channel",
        "event_ts": "1.2",
        "user": "U1",
        "text": "hi",
        "ts": "1.2",
        "files": [{"id": "F1"}],
    }
    assert posted_message(event) == {
        "user": "U1",
        "text": "hi",
        "ts": "1.2",
        "files": [{"id": "F1"}],
    }
