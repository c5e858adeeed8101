"""The MIME tree of the email and fitting it into the size limit.

Structure (built with EmailMessage only):
multipart/mixed[ multipart/alternative[ text/plain, multipart/related[ text/html, images… ] ],
attachments… ] — the outer and related layers appear only when needed.

When the whole conversation does not fit, the oldest replies are left out (then the parent
shortened), and files are attached by priority (screenshot, close-ups, files, copies)
within what remains.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bot.render.headers import ascii_address, subject_header
from bot.render.html import html_document
from bot.render.layout import Item, Layout, allocate, file_owner, plan_assets
from bot.render.plain import plain_document

# iCloud's advertised SMTP SIZE, the limit when a server names none (one definition).
DEFAULT_SIZE_LIMIT = 28_319_744
SIZE_MARGIN = 0.02
_MSGID_RE = re.compile(r"^<[^<>\s]+@[^<>\s]+>$")


@dataclass(frozen=True)
class Envelope:
    subject: str
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    references: tuple[str, ...]
    sent_at: datetime


def _check_msgid(value: str) -> str:
    if not _MSGID_RE.fullmatch(value):
        raise ValueError(f"not a Message-ID: {value!r:.80}")
    return value


def _set_headers(message: EmailMessage, env: Envelope) -> None:
    message["From"] = ascii_address(env.sender)
    message["To"] = ", ".join(ascii_address(r) for r in env.recipients)
    message["Subject"] = subject_header(env.subject)
    message["Date"] = format_datetime(env.sent_at)
    message["Message-ID"] = _check_msgid(env.message_id)
    if env.references:
        message["References"] = " ".join(_check_msgid(ref) for ref in env.references)
        message["In-Reply-To"] = env.references[0]


def _add_parts(message: EmailMessage, layout: Layout) -> None:
    chosen = [a for a in layout.assets.values() if a.key in layout.included]
    html_part = message.get_body(("html",))
    for asset in (a for a in chosen if a.inline):
        maintype, subtype = asset.mimetype.split("/")
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            asset.content,
            maintype,
            subtype,
            cid=asset.cid,
            filename=asset.filename,
            disposition="inline",
        )
    for asset in (a for a in chosen if not a.inline):
        maintype, subtype = asset.mimetype.split("/")
        message.add_attachment(asset.content, maintype, subtype, filename=asset.filename)


def _build(layout: Layout, env: Envelope) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    _set_headers(message, env)
    message.set_content(plain_document(layout), cte="quoted-printable")
    message.add_alternative(html_document(layout), subtype="html", cte="quoted-printable")
    _add_parts(message, layout)
    return message


class Builder:
    """Builds layouts for one render, measuring each; the last one is kept.

    The fitting steps measure the same layout again (text fits → assets none → final), so
    remembering the last build turns three builds and serialisations into one. Only one is
    kept: the trimming searches build many large candidates.
    """

    def __init__(self, env: Envelope) -> None:
        self.env = env
        self._last: tuple[tuple[object, ...], Layout, EmailMessage, bytes] | None = None

    def build(self, layout: Layout) -> tuple[EmailMessage, bytes]:
        """The message and its bytes (what is sent: SMTP gets these, not a new flattening)."""
        # Within one render only the items, the omitted count and the included parts vary
        # (the assets are computed once), so they identify what a build produces.
        key = (tuple(id(item) for item in layout.items), layout.omitted, layout.included)
        if self._last is None or self._last[0] != key:
            message = _build(layout, self.env)
            # ``layout`` is kept so the ids in ``key`` stay those of live items.
            self._last = (key, layout, message, message.as_bytes())
        return self._last[2], self._last[3]

    def size(self, layout: Layout) -> int:
        return len(self.build(layout)[1])


# ---------------------------------------------------------------- fitting into the size limit


def _smallest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """Smallest x in [low, high] with fits(x), fits being monotone; None when none fits."""
    if low > high or not fits(high):
        return None
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low


def _drop_replies(layout: Layout, base: tuple[Item, ...], count: int) -> Layout:
    return replace(layout, items=base[:1] + base[1 + count :], omitted=count)


def _shorten(item: Item, cut: int) -> Item:
    kept = item.text[: max(len(item.text) - cut, 0)].rstrip()
    return replace(item, text=kept + "… [shortened to fit the mail size limit]")


def _fit_parent(layout: Layout, builder: Builder, limit: int) -> Layout:
    parent = layout.items[0]

    def shortened(cut: int) -> Layout:
        return replace(layout, items=(_shorten(parent, cut),))

    cut = _smallest(1, len(parent.text), lambda n: builder.size(shortened(n)) <= limit)
    if cut is not None:
        return shortened(cut)
    return replace(layout, items=(), omitted=len(layout.conversation.messages))


def fit_text(layout: Layout, builder: Builder, limit: int) -> Layout:
    """Leave out the oldest replies (then shorten the parent) until the text fits."""
    if not layout.items or builder.size(layout) <= limit:
        return layout
    base = layout.items

    def fits(count: int) -> bool:
        return builder.size(_drop_replies(layout, base, count)) <= limit

    count = _smallest(1, len(base) - 1, fits)
    if count is not None:
        return _drop_replies(layout, base, count)
    return _fit_parent(_drop_replies(layout, base, len(base) - 1), builder, limit)


def fit_assets(layout: Layout, builder: Builder, limit: int) -> Layout:
    """Attach files greedily within the budget, then drop the largest until it really fits."""
    assets = plan_assets(layout.items, layout.mode)
    layout = replace(layout, assets=assets)
    included = allocate(assets, limit - builder.size(layout))
    candidate = replace(layout, included=included)
    while included and builder.size(candidate) > limit:
        largest = max(included, key=lambda key: assets[key].cost)
        included = included - {largest}
        candidate = replace(layout, included=included)
    return candidate


def counts(layout: Layout) -> tuple[int, int]:
    """How many files (or session images) went into the email, and how many are linked."""
    owners = {a.owner for a in layout.assets.values()}
    files = [(file_owner(i, f), f) for i in layout.items for f in i.files]
    all_owners = owners | {owner for owner, _ in files}
    used = {layout.assets[key].owner for key in layout.included}
    return len(used), len(all_owners - used)
