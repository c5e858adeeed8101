"""Deterministic content for every case: people, mixed-markup messages, threads.

Everything is generated from a seed, so the Slack stand-in (in the orchestrator), the
children that pre-build messages for the comparison clients, and the render child all
see exactly the same conversations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.render.model import ChatMessage, Conversation, Directory, FileItem

Json = dict[str, Any]

TEAM_ID = "T111"  # the stand-in's and the signed requests' workspace
SENDER = "U0JANE"  # the user who forwards everything
SENDER_LOGIN = "jane@icloud.com"
SENDER_ASP = "tmah-jdbq-rdby-gdes"
RECIPIENT = "jane@icloud.com"
PEOPLE = 12  # distinct authors in the threads (plus the sender)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Sydney")
BASE_MICROS = 1_700_000_000_000_000

_WORDS = (
    "deploy",
    "rollback",
    "latency",
    "cache",
    "shard",
    "replica",
    "incident",
    "pager",
    "alert",
    "queue",
    "worker",
    "timeout",
    "retry",
    "backoff",
    "schema",
    "migration",
    "index",
    "vacuum",
    "checkpoint",
    "release",
    "canary",
    "dashboard",
    "graph",
    "spike",
    "error",
    "budget",
    "customer",
    "ticket",
    "mailbox",
    "screenshot",
    "session",
    "note",
    "bubble",
    "annotate",
    "focus",
    "review",
)
_EMOJI = (":smile:", ":tada:", ":fire:", ":white_check_mark:", ":eyes:", ":+1:", ":rocket:")


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    display_name: str
    real_name: str
    tz: str


def people() -> list[Person]:
    crowd = [Person(SENDER, "jane", "Jane Doe", "Jane Doe", "Europe/Berlin")]
    for index in range(1, PEOPLE + 1):
        crowd.append(
            Person(
                f"U{index:04d}",
                f"user{index}",
                f"Person {index}",
                f"Person Number {index}",
                ZONES[index % len(ZONES)],
            )
        )
    return crowd


def channel_id(index: int) -> str:
    """One channel per thread: the stand-in looks messages up per channel."""
    return f"C{index:06d}"


def channel_name(index: int) -> str:
    return f"bench-{index:06d}"


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def markup_text(rng: random.Random, authors: list[str], n: int) -> str:
    """A Slack mrkdwn message using one or more of the constructs the renderer converts."""
    kind = n % 10
    text = _sentence(rng, rng.randint(6, 18))
    other = authors[rng.randrange(len(authors))]
    if kind == 0:
        return f"*{text}* and _{_sentence(rng, 3)}_ ~{_sentence(rng, 2)}~ {rng.choice(_EMOJI)}"
    if kind == 1:
        return f"<@{other}> can you check `{rng.choice(_WORDS)}.py`? {text}"
    if kind == 2:
        return f"```\nfor x in range(10):\n    print(x, '{rng.choice(_WORDS)}')\n```\n{text}"
    if kind == 3:
        return f"&gt; {text}\n&gt; {_sentence(rng, 5)}\nagreed &amp; shipped"
    if kind == 4:
        return f"• {_sentence(rng, 4)}\n• {_sentence(rng, 5)}\n1. {_sentence(rng, 3)}"
    if kind == 5:
        return f"see <https://example.com/runbook/{n}|the runbook> and <https://example.com/x/{n}>"
    if kind == 6:
        return f"<!here> {text} <#C000001|general> <!subteam^S0001|@oncall>"
    if kind == 7:
        return f"{text} &lt;not a tag&gt; 5 &gt; 3 {rng.choice(_EMOJI)}{rng.choice(_EMOJI)}"
    if kind == 8:
        return f"_{text}_\n`inline` then *bold `code`* {rng.choice(_EMOJI)}"
    return text


def thread(index: int, size: int, *, seed: int = 0) -> list[Json]:
    """A thread as conversations.replies returns it: the parent first, then the replies."""
    rng = random.Random(seed * 1_000_003 + index)
    crowd = [p.user_id for p in people()]
    parent_ts = _ts(BASE_MICROS + index * 100_000_000)
    messages: list[Json] = []
    for n in range(size):
        ts = parent_ts if n == 0 else _ts(BASE_MICROS + index * 100_000_000 + n * 1_000)
        message: Json = {
            "type": "message",
            "user": crowd[rng.randrange(len(crowd))],
            "text": markup_text(rng, crowd, n),
            "ts": ts,
            "thread_ts": parent_ts,
            "team": TEAM_ID,
        }
        if n == 0:
            message.update(
                reply_count=size - 1,
                reply_users_count=min(size - 1, len(crowd)),
                latest_reply=_ts(BASE_MICROS + index * 100_000_000 + (size - 1) * 1_000),
            )
        messages.append(message)
    return messages


def _ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def conversation(raw: list[Json], *, index: int, with_files: bool = True) -> Conversation:
    """The renderer's input for ``raw`` without Slack (names resolved like fetch does)."""
    names = {p.user_id: p.display_name for p in people()}
    zone = "Europe/Berlin"
    messages = []
    for n, message in enumerate(raw):
        ts = str(message["ts"])
        seconds, _, micros = ts.partition(".")
        posted = datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=int(micros))
        files: tuple[FileItem, ...] = ()
        if with_files and n % 50 == 7:  # a linked (not downloaded) file now and then
            files = (
                FileItem(
                    file_id=f"F{n:06d}",
                    name=f"log-{n}.txt",
                    mimetype="text/plain",
                    size=40_000 + n,
                    permalink=f"https://example.slack.com/files/{n}",
                    content=None,
                ),
            )
        messages.append(
            ChatMessage(
                ts=ts,
                author=names.get(str(message.get("user")), "someone"),
                author_is_bot=False,
                posted_at=posted,
                text=str(message["text"]),
                permalink=f"https://example.slack.com/archives/{channel_id(index)}/p"
                f"{ts.replace('.', '')}",
                files=files,
            )
        )
    return Conversation(
        title=f"#{channel_name(index)}",
        permalink=f"https://example.slack.com/archives/{channel_id(index)}/p"
        f"{str(raw[0]['ts']).replace('.', '')}",
        messages=tuple(messages),
        directory=Directory(
            users=names, channels={"C000001": "general"}, usergroups={"S0001": "oncall"}
        ),
        time_zone=zone,
    )
