"""Messages the bot posts: status of sends, lists, help, confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    PlainTextObject,
)

from bot import ids
from bot.advice import Advice
from bot.policy import KIND_LABELS, ConversationKind, Policy
from bot.presets import ICLOUD, PRESETS, Preset, not_offered, offered
from bot.render.model import Session
from bot.views.common import (
    button,
    clip,
    context,
    destination_buttons,
    destination_line,
    escape,
    md,
    slack_date,
    unavailable_note,
)
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    DestinationPublic,
    Follow,
    FollowMode,
    ShareKeyPublic,
)


@dataclass(frozen=True)
class Message:
    """A message body: fallback text plus blocks (as dicts, ready for the Web API)."""

    text: str
    blocks: list[dict[str, object]]


def message(text: str, blocks: Sequence[Block]) -> Message:
    return Message(text=text, blocks=[block.to_dict() for block in blocks])


TEST_SUMMARY = "Test session"  # what a test send is called in history and statuses


def send_summary(scope: str, where: str) -> str:
    """What a queued send is called until it is read: "Thread from #incidents"."""
    return f"{'Thread' if scope == 'thread' else 'Message'} from {where}"


def only_message_summary(summary: str) -> str:
    """The resend of a thread's first message alone: "Message from #incidents"."""
    return summary.replace("Thread", "Message", 1)


def what(delivery: Delivery) -> str:
    return TEST_SUMMARY if delivery.kind is DeliveryKind.TEST else (delivery.summary or "Session")


INTERRUPTED = "Interrupted; trying again."  # a delivery cut short, as history shows it


def outcome_summary(accepted: Sequence[str], refused: str | None) -> str:
    """What a finished send records on its destination ("passed" for a clean test)."""
    return f"Delivered to {', '.join(accepted)}; {refused}" if refused else "passed"


def _change_button(delivery: Delivery) -> list[ButtonElement]:
    """A reaction's send went without a modal: Change… reopens it, prefilled."""
    if not (delivery.source or "").startswith("reaction:"):
        return []
    return [button("Change…", ids.ACTION_CHANGE_SEND, delivery.id)]


def _change(delivery: Delivery) -> list[Block]:
    found = _change_button(delivery)
    return [ActionsBlock(elements=found)] if found else []


def sending(delivery: Delivery) -> Message:
    verb = "Testing" if delivery.kind is DeliveryKind.TEST else "Sending"
    text = f"⏳ {verb} *{escape(delivery.destination_name)}*… {escape(what(delivery))}"
    return message(text, [md(text), *_change(delivery)])


def sent(
    delivery: Delivery, *, recipients: Sequence[str], seconds: float, refused: str | None = None
) -> Message:
    """✅ only when every recipient accepted; otherwise what arrived and what was refused."""
    to = ", ".join(recipients)
    if refused is not None:
        return partly_sent(delivery, to=to, refused=refused)
    if delivery.kind is DeliveryKind.TEST:
        text = (
            f"✅ *{escape(delivery.destination_name)}* works: a test session was sent to "
            f"{escape(to)} ({seconds:.1f} s). Check that inbox."
        )
    else:
        text = (
            f"✅ Sent {escape(delivery.summary)} to {escape(to)} via "
            f"*{escape(delivery.destination_name)}* ({seconds:.1f} s)."
        )
    blocks: list[Block] = [md(text), *_change(delivery)]
    if delivery.kind is DeliveryKind.TEST:
        blocks.append(
            ActionsBlock(
                elements=[
                    button("Send test again", ids.ACTION_TEST_DESTINATION, delivery.destination_id)
                ]
            )
        )
    return message(text, blocks)


def partly_sent(delivery: Delivery, *, to: str, refused: str) -> Message:
    name = escape(delivery.destination_name)
    if delivery.kind is DeliveryKind.TEST:
        text = (
            f"⚠️ *{name}* needs a look: the test session was delivered to {escape(to)}; "
            f"{escape(refused)}"
        )
    else:
        text = (
            f"⚠️ Partly sent via *{name}*: {escape(delivery.summary)} was delivered to "
            f"{escape(to)}; {escape(refused)}"
        )
    return message(
        text,
        [
            md(text),
            ActionsBlock(
                elements=[
                    button(
                        "Edit destination", ids.ACTION_EDIT_DESTINATION, delivery.destination_id
                    ),
                    button("Send test", ids.ACTION_TEST_DESTINATION, delivery.destination_id),
                ]
            ),
        ],
    )


def failed(
    delivery: Delivery, advice: Advice, *, attempts: int, offer_message_only: bool = False
) -> Message:
    head = "Test failed" if delivery.kind is DeliveryKind.TEST else "Not sent"
    text = (
        f"❌ {head}: *{escape(delivery.destination_name)}* — {escape(what(delivery))}. "
        f"{advice.headline}."
    )
    blocks: list[Block] = [md(text), *advice_blocks(advice)]
    if attempts > 1:
        blocks.append(context(f"Gave up after {attempts} attempts."))
    buttons = [
        button("Send test", ids.ACTION_TEST_DESTINATION, delivery.destination_id),
        button("Edit destination", ids.ACTION_EDIT_DESTINATION, delivery.destination_id),
    ]
    buttons += _change_button(delivery)  # another destination, or the scope
    if offer_message_only:
        buttons.insert(
            0,
            button(
                "Send only this message", ids.ACTION_SEND_ONLY_MESSAGE, delivery.id, style="primary"
            ),
        )
    blocks.append(ActionsBlock(elements=buttons))
    return message(text, blocks)


def retrying(delivery: Delivery, advice: Advice, *, in_seconds: float, attempt: int) -> Message:
    wait = f"{round(in_seconds / 60)} min" if in_seconds >= 90 else f"{round(in_seconds)} s"
    text = (
        f"🔁 Retrying in {wait}: {escape(advice.detail)} — {escape(what(delivery))} to "
        f"*{escape(delivery.destination_name)}* (attempt {attempt} failed)."
    )
    return message(text, [md(text), context(" ".join(advice.fixes))])


def advice_blocks(advice: Advice) -> list[Block]:
    fixes = "\n".join(f"• {escape(fix)}" for fix in advice.fixes)
    blocks: list[Block] = [md(f"*{escape(advice.headline)}* — {escape(advice.detail)}")]
    if fixes:
        blocks.append(md(f"*How to fix it*\n{fixes}"))
    return blocks


def problem(advice: Advice) -> Message:
    text = f"⚠️ {advice.headline}. {advice.detail}"
    return message(text, [md(f"⚠️ {escape(text)}"), *advice_blocks(advice)[1:]])


def plain(text: str) -> Message:
    return message(text, [md(text)])


LIST_PAGE_SIZE = 10  # 2 blocks each plus 3: far below the 50 blocks of a message


def list_pages(count: int) -> int:
    return max(1, -(-count // LIST_PAGE_SIZE))


def destination_list(
    destinations: Sequence[DestinationPublic],
    *,
    page: int = 0,
    not_allowed: frozenset[str] = frozenset(),
) -> Message:
    """One page of the user's destinations, with Previous/Next when there are more."""
    if not destinations:
        return plain("You have no email destinations yet. Add one with `/xenocept add`.")
    pages = list_pages(len(destinations))
    page = min(max(page, 0), pages - 1)
    shown = destinations[page * LIST_PAGE_SIZE : (page + 1) * LIST_PAGE_SIZE]
    title = "*Your email destinations*"
    if pages > 1:
        first = page * LIST_PAGE_SIZE + 1
        title += f" — {first}–{first + len(shown) - 1} of {len(destinations)}"
    blocks: list[Block] = [md(title)]
    for destination in shown:
        line = destination_line(destination, allowed=destination.id not in not_allowed)
        blocks += [md(line), destination_buttons(destination)]
    if pages > 1:
        turn = []
        if page > 0:
            turn.append(button("Previous", ids.ACTION_LIST_PREVIOUS, str(page - 1)))
        if page < pages - 1:
            turn.append(button("Next", ids.ACTION_LIST_NEXT, str(page + 1)))
        blocks += [
            ActionsBlock(block_id=ids.BLOCK_LIST_PAGES, elements=turn),
            context(
                f"Page {page + 1} of {pages}. The Xenocept app's Home tab lists "
                "your destinations too."
            ),
        ]
    return message(f"You have {len(destinations)} email destination(s).", blocks)


NOT_SAVED = (
    "Nothing was saved: the bot's database cannot take it right now (full or "
    "unavailable). Try again in a few minutes, and tell whoever runs the bot if it "
    "keeps happening."
)

NAMES_SHOWN = 10  # a reply names a few; /xenocept list pages through them all


def no_such_destination(name: str, *, verb: str, names: Sequence[str]) -> Message:
    listed = ", ".join(f"`{escape(clip(n, 80))}`" for n in names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        listed += f" and {len(names) - NAMES_SHOWN} more (`/xenocept list`)"
    yours = listed or "none yet — `/xenocept add`"
    if not name:
        return plain(f"Which destination? Usage: `/xenocept {verb} NAME`. Yours: {yours}.")
    return plain(f"You have no destination named *{escape(clip(name, 80))}*. Yours: {yours}.")


def confirm_remove(destination: DestinationPublic) -> Message:
    text = f"Remove *{escape(destination.name)}* ({escape(destination.username)})?"
    # Slack's reference requires plain_text for every part of a confirmation dialog.
    confirm = ConfirmObject(
        title="Remove destination?",
        confirm="Remove",
        deny="Keep it",
        text=PlainTextObject(text="Sessions can no longer be sent to it."),
    )
    return message(
        text,
        [
            md(text),
            ActionsBlock(
                elements=[
                    button(
                        "Remove",
                        ids.ACTION_CONFIRM_REMOVE,
                        destination.id,
                        style="danger",
                        confirm=confirm,
                    ),
                    button("Cancel", ids.ACTION_CANCEL_REMOVE, destination.id),
                ]
            ),
        ],
    )


def removed(destination: DestinationPublic, preset: Preset) -> Message:
    text = (
        f"🗑️ Removed *{escape(destination.name)}*. Its password was deleted from our "
        f"database. {preset.revoke_hint}"
    )
    return plain(text)


NOT_ADMIN = (
    "Only this workspace's owners and admins (and people the bot's operator lists in "
    "XENOCEPT_ADMINS) can see and change its Xenocept policy."
)


def not_admin() -> Message:
    return plain(NOT_ADMIN)


def policy_refused(sentence: str) -> Message:
    return plain(f"🚫 {sentence} Nothing was sent.")


def policy_lines(policy: Policy) -> list[str]:
    """The workspace's policy in words, one rule a line."""
    kinds = [KIND_LABELS[k] for k in ConversationKind if k in policy.forward_from]
    providers = [PRESETS[key].label for key in policy.allowed_providers if key in PRESETS]
    largest = policy.max_thread_messages
    return [
        "Recipients: "
        + (f"only {_domain_list(policy.allowed_domains)}" if policy.allowed_domains else "any"),
        "Providers: " + (", ".join(providers) if providers else "all"),
        "Forward from: " + (", ".join(kinds) if kinds else "nothing"),
        f"Blocked channels: {len(policy.blocked_channels) or 'none'}",
        "Largest thread: " + (f"{largest:,} messages" if largest else "no limit"),
        "History kept: " + (f"{policy.keep_days:,} days" if policy.keep_days else "forever"),
    ]


def audit_posted(entries: int, days: int) -> str:
    return (
        f"The audit trail of the last {days} days: {entries:,} entries. Times are UTC; "
        "no message text, subjects or passwords are ever recorded."
    )


def audit_usage() -> Message:
    return plain("Usage: `/xenocept audit [days]`, days a whole number from 1 to 36,500.")


def help_message(policy: Policy | None = None) -> Message:
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(ICLOUD.setup_steps, 1))
    commands = (
        f"{_add_line()}\n`/xenocept list` — your destinations\n"
        "`/xenocept test NAME` — send a test session\n`/xenocept edit NAME` — change one\n"
        "`/xenocept remove NAME` — remove one\n`/xenocept history` — your last 20 sends\n"
        "`/xenocept admin` — the workspace policy (owners and admins)\n"
        "`/xenocept audit [days]` — the audit trail as a CSV file (owners and admins)\n"
        "Message menu → *Send to email* — forward a message, a whole thread or a Xenocept "
        "session\n"
        "React with :email: — forward a message (its whole thread when it has replies) to "
        "your default destination; `/xenocept reaction EMOJI` changes the emoji, "
        "`/xenocept reaction off` turns it off, `/xenocept default NAME` picks the destination\n"
        "`/xenocept follow #channel [destination] [sessions|all] [daily HH:MM]` — new Xenocept "
        "sessions (or every message) posted there reach your mailbox by themselves, one by one "
        "or in a daily digest\n`/xenocept following` — what you follow, with Stop buttons\n"
        "`/xenocept unfollow #channel` — stop following it"
    )
    if policy is None or policy.allow_sharing:
        commands += (
            "\n`/xenocept connect [label]` — a share key for `xenocept share`, which posts "
            "the sessions Xenocept saves on your computer here\n`/xenocept keys` — your "
            "share keys, with Revoke buttons"
        )
    issues = (
        "*Common issues*\n• “Authentication failed”: you used your regular Apple ID password "
        "— generate an app-specific password and use it.\n• “User has no permission to send "
        "mail through this server”: new iCloud accounts have a brief warm-up; wait a few "
        "hours, and contact Apple Support if it persists.\n• Two-factor was turned off: "
        "that revokes every app-specific password — turn 2FA back on and generate a fresh one."
    )
    blocks = [
        md("*Connect iCloud Mail in four steps*\n" + steps),
        DividerBlock(),
        md(commands),
        md(issues),
    ]
    if policy is not None and policy.allowed_domains:
        blocks.append(
            context(
                f"Your workspace allows email only to {_domain_list(policy.allowed_domains)} "
                "addresses."
            )
        )
    return message("Xenocept help", blocks)


def _add_line() -> str:
    keys = ", ".join(f"`{p.key}`" for p in PRESETS.values() if not p.unavailable)
    local = " and ".join(f"`{p.key}`" for p in PRESETS.values() if p.local)
    return (
        f"`/xenocept add [provider]` — add an email destination; provider is one of {keys} "
        f"(iCloud by default; {local} only when the operator allows local hosts)"
    )


def provider_choices(intro: str, *, local_allowed: bool) -> Message:
    """``intro``, then every provider ``/xenocept add`` opens here and those it does not."""
    lines = "\n".join(
        f"• `/xenocept add {p.key}` — {p.label}" for p in offered(local_allowed=local_allowed)
    )
    notes = [
        unavailable_note([p.label for p in presets], reason)
        for reason, presets in not_offered(local_allowed=local_allowed).items()
    ]
    return message(intro, [md(intro), md(f"*Providers*\n{lines}"), *notes])


def unknown_provider(name: str, *, local_allowed: bool) -> Message:
    return provider_choices(
        f"I don't know the provider `{escape(name[:40])}`.", local_allowed=local_allowed
    )


def provider_unavailable(preset: Preset, reason: str, *, local_allowed: bool) -> Message:
    return provider_choices(
        f"*{preset.label}* is not available here. {reason}", local_allowed=local_allowed
    )


def unknown_command(text: str) -> Message:
    """An unknown ``/xenocept`` word: say so, then the help."""
    intro = plain(f"I don't know `{escape(text.strip()[:60])}`. Here is what I can do:")
    return Message(text=intro.text, blocks=intro.blocks + help_message().blocks)


def test_queued(destination: DestinationPublic) -> Message:
    return plain(
        f"⏳ Sending a test session to *{escape(destination.name)}*… The result appears in "
        "your Xenocept app messages."
    )


def destination_not_yours() -> Message:
    return plain("That destination is not yours or was removed: nothing was done.")


def send_not_yours() -> Message:
    return plain("That send is not yours or no longer exists: nothing was done.")


def kept(destination: DestinationPublic | None) -> Message:
    return plain(f"Kept {escape(destination.name) if destination else 'the destination'}.")


def to_hint(allowed_domains: Sequence[str]) -> str:
    """The hint under the setup form's To, naming the workspace's allowed domains."""
    hint = "Where sessions are delivered: one or more addresses, separated by commas."
    if allowed_domains:
        hint += f" Your workspace allows only {_domain_list(allowed_domains)} addresses."
    return clip(hint, 2000)


def _domain_list(domains: Sequence[str]) -> str:
    shown = ", ".join(domains[:10])
    return shown + (f" and {len(domains) - 10} more domains" if len(domains) > 10 else "")


# Errors under the setup form's fields.
FORM_NOT_YOURS = "This destination is not yours or was removed. Close this and start again."


def duplicate_name(name: str) -> str:
    return f"You already have a destination named {name}."


def history(deliveries: Sequence[Delivery]) -> Message:
    """Every send asked for (at most 20), one block each: none is cut off."""
    if not deliveries:
        return plain("Nothing sent yet.")
    shown = deliveries[:HISTORY_SHOWN]
    blocks: list[Block] = [
        md(f"*Your last {len(shown)} sends*" if len(shown) > 1 else "*Your last send*")
    ]
    blocks += [md(history_line(d)) for d in shown]
    return message("Your recent sends", blocks)


HISTORY_SHOWN = 20


def history_line(delivery: Delivery) -> str:
    partly = delivery.status is DeliveryStatus.SENT and bool(delivery.last_error)
    icon = (
        "⚠️"
        if partly
        else {DeliveryStatus.SENT: "✅", DeliveryStatus.FAILED: "❌"}.get(delivery.status, "⏳")
    )
    status = "partly sent" if partly else delivery.status.value
    line = (
        f"{icon} {slack_date(delivery.created_at)} · {escape(what(delivery))} → "
        f"*{escape(delivery.destination_name)}* · {status}, "
        f"{delivery.attempts} attempt(s)"
    )
    if delivery.last_error:
        line += f" · {escape(clip(delivery.last_error, 300))}"
    return line


# ---------------------------------------------------------------- forwarding without the menu

FOLLOW_DESTINATION_GONE = "its destination was removed"


def _reaction_words(emoji: str) -> str:
    return f":{emoji}: (`:{emoji}:`)"


def reaction_no_destination(emoji: str) -> Message:
    text = (
        f"You reacted with {_reaction_words(emoji)}, which emails a message to you — but you "
        "have no email destination yet. Add one with `/xenocept add` (iCloud Mail or any "
        "SMTP server); after that, this reaction forwards a message, or its whole thread, "
        "in one go. (`/xenocept reaction off` turns this off.)"
    )
    return message(text, [md(text)])


def reaction_already_sent(earlier: Delivery) -> Message:
    text = (
        f"You already sent this message to *{escape(earlier.destination_name)}* "
        f"{slack_date(earlier.created_at)}: a second reaction within a day sends nothing "
        "again. To send it once more, use the message menu → *Send to email*."
    )
    return message(text, [md(text)])


def reaction_refused(sentence: str) -> Message:
    text = f"Not sent: {sentence}"
    return message(text, [md(f"❌ {escape(text)}")])


def follow_refused(sentence: str) -> Message:
    return message(f"Not followed: {sentence}", [md(f"⚠️ Not followed: {escape(sentence)}")])


def reaction_set(emoji: str) -> Message:
    if not emoji:
        return plain(
            "Reactions no longer forward anything. `/xenocept reaction email` turns it back on."
        )
    return plain(
        f"Reacting with {_reaction_words(emoji)} now emails the message (its whole thread "
        "when it has replies) to your default destination. `/xenocept reaction off` turns "
        "it off."
    )


def reaction_usage(current: str) -> Message:
    now = f"Now: {_reaction_words(current)}." if current else "Now: off."
    return plain(
        "Usage: `/xenocept reaction EMOJI` (for example `/xenocept reaction email`) or "
        f"`/xenocept reaction off`. {now}"
    )


def default_set(destination: DestinationPublic) -> Message:
    return plain(
        f"*{escape(destination.name)}* is now your default destination: reactions and "
        "follows send there unless you name another."
    )


def follow_usage() -> Message:
    return plain(
        "Usage: `/xenocept follow #channel [destination name] [sessions|all] "
        "[daily HH:MM]` — `sessions` (the default) forwards each new Xenocept session "
        "posted there, `all` every new message; `daily 08:00` collects the day's posts "
        "into one email at that time in your time zone."
    )


def _follow_words(follow: Follow) -> str:
    where = f"<#{follow.channel_id}>"
    what_ = "every new message" if follow.mode == FollowMode.ALL else "each new Xenocept session"
    when_ = (
        f" in a daily digest at {follow.digest_time} ({follow.time_zone})"
        if follow.digest_time
        else ""
    )
    return f"{what_} posted in {where} goes to *{escape(follow.destination_name)}*{when_}"


def follow_started(follow: Follow) -> Message:
    text = (
        f"Following: {_follow_words(follow)}. `/xenocept unfollow <#{follow.channel_id}>` stops it."
    )
    return message(text, [md(text)])


def follow_stopped(follow: Follow, reason: str) -> Message:
    text = (
        f"⏸ New posts in <#{follow.channel_id}> are no longer forwarded to "
        f"*{escape(follow.destination_name)}*: {escape(reason)} Follow it again "
        "(`/xenocept follow`) once that is fixed."
    )
    return message(text, [md(text)])


def follow_paused_for_day(follow_channel: str, destination: str, until: datetime) -> Message:
    text = (
        f"⏸ Forwarding from <#{follow_channel}> to *{escape(destination)}* is paused for the "
        f"day: the destination reached its daily sending limit (iCloud accepts 1,000 a day "
        f"per account). Nothing is lost: the waiting posts go out from {slack_date(until)}."
    )
    return message(text, [md(text)])


def unfollowed(follow: Follow) -> Message:
    return plain(f"Stopped following <#{follow.channel_id}>.")


def not_following(typed: str) -> Message:
    return plain(
        f"You don't follow {escape(typed[:80])}. `/xenocept following` lists what you follow."
    )


FOLLOWS_SHOWN = 20  # 2 blocks each: well within a message's 50


def follow_list(follows: Sequence[Follow]) -> Message:
    if not follows:
        return plain(
            "You follow no channel. `/xenocept follow #channel` forwards each new Xenocept "
            "session posted there to your email."
        )
    blocks: list[Block] = [md(f"*You follow {len(follows)} channel(s)*")]
    for follow in follows[:FOLLOWS_SHOWN]:
        blocks += follow_blocks(follow)
    if len(follows) > FOLLOWS_SHOWN:
        more = len(follows) - FOLLOWS_SHOWN
        blocks.append(context(f"…and {more} more: `/xenocept unfollow #channel` stops any."))
    return message(f"You follow {len(follows)} channel(s)", blocks)


def follow_blocks(follow: Follow) -> list[Block]:
    line = _follow_words(follow)
    if follow.paused_reason:
        line += f" — ⏸ paused: {escape(follow.paused_reason)}"
    return [
        md(line[0].upper() + line[1:]),
        ActionsBlock(elements=[button("Stop", ids.ACTION_STOP_FOLLOW, follow.id)]),
    ]


def digest_subject(where: str, items: int, day: datetime) -> str:
    posts = "1 post" if items == 1 else f"{items} posts"
    return f"Daily digest of {where}: {posts} ({day:%a} {day.day} {day:%b})"


def digest_summary(where: str, items: int) -> str:
    posts = "1 post" if items == 1 else f"{items} posts"
    return f"Daily digest of {where} ({posts})"


DAILY_LIMIT_PAUSE = "the destination reached its daily sending limit"


def waiting_note(daily: bool) -> str:
    """What history says of a send that waits for a rate limit."""
    return f"Waiting: {'the daily' if daily else 'the hourly'} sending limit was reached."


def waiting(delivery: Delivery, *, until: datetime, daily: bool) -> Message:
    limit = "its daily sending limit" if daily else "your hourly sending limit"
    text = (
        f"⏸ Waiting: *{escape(delivery.destination_name)}* reached {limit}; "
        f"{escape(what(delivery))} goes out from {slack_date(until)}."
    )
    return message(text, [md(text)])


# ------------------------------------------------------------------ sharing from Xenocept

NOTES_SHOWN = 40  # blocks: 2 above the Notes, bubbles, texts and the button below (≤ 50)


def share_key_made(key: ShareKeyPublic, text: str, *, server_url: str | None) -> Message:
    """The key, shown this once (ephemeral), and the desktop command that uses it."""
    label = f" *{escape(key.label)}*" if key.label else ""
    server = server_url or "URL-OF-THIS-BOT"
    command = f"xenocept share --watch FOLDER --server {server} --key {text} --to '#channel'"
    where = "" if server_url else " (ask whoever runs Xenocept for Slack for its address)"
    body = (
        f"🔑 Your share key{label} — copy it now, it is shown only this once:\n```{text}```\n"
        "In Xenocept: *Settings → Destinations → File*, choose a folder. Then on that "
        f"computer run{where}:\n```{command}```\nEach session Xenocept writes there appears "
        "in the channel (or, with `--to @me`, in your DM with me). `/xenocept keys` lists "
        "your keys and revokes any of them at once."
    )
    return message("Your new share key (shown once)", [md(body)])


def share_keys_list(keys: Sequence[ShareKeyPublic]) -> Message:
    if not keys:
        return plain(
            "You have no share key. `/xenocept connect [label]` makes one for `xenocept share` "
            "on your desktop."
        )
    blocks: list[Block] = [md(f"*Your share keys ({len(keys)})*")]
    for key in keys:
        used = slack_date(key.last_used_at) if key.last_used_at else "never"
        line = (
            f"*{escape(key.label) or 'Unnamed key'}* — made {slack_date(key.created_at)}, "
            f"last used {used}"
        )
        confirm = ConfirmObject(
            title="Revoke this key?",
            text=PlainTextObject(
                text=f"{clip(key.label or 'This key', 100)} stops sharing at once."
            ),
            confirm="Revoke",
            deny="Keep",
            style="danger",
        )
        section = md(line)
        section.accessory = button(
            "Revoke", ids.ACTION_REVOKE_SHARE_KEY, key.id, style="danger", confirm=confirm
        )
        blocks.append(section)
    return message(f"Your share keys ({len(keys)})", blocks)


def share_key_revoked(key: ShareKeyPublic) -> Message:
    name = f"*{escape(key.label)}*" if key.label else "The key"
    return plain(f"{name} is revoked: nothing shares with it any more.")


def share_key_gone() -> Message:
    return plain("That key is not yours or was already revoked: `/xenocept keys` lists yours.")


def sharing_refused(sentence: str) -> Message:
    return message(f"No key made: {sentence}", [md(f"⚠️ {escape(sentence)}")])


def shared_session_post(session: Session, *, sharer: str) -> Message:
    """The message a session shared from a desktop makes: it reads like the session (first
    Note, each Note, bubbles and texts, the time), its files below, and Email me."""
    notes = session.notes
    first = notes[0].text if notes else "A Xenocept session"
    when = (
        f" · {slack_date(session.created_at, session.created_at.isoformat())}"
        if session.created_at
        else ""
    )
    blocks: list[Block] = [
        md(f"*{escape(' '.join(first.split()))}*"),
        context(f"📸 Xenocept session shared by <@{sharer}>{when}"),
    ]
    for note in notes[:NOTES_SHOWN]:
        image = f" · {escape(note.focus_image)} below" if note.focus_image else ""
        blocks.append(md(f"*Note {note.index + 1}*{image}\n{escape(note.text)}"))
    if len(notes) > NOTES_SHOWN:
        blocks.append(context(f"…and {len(notes) - NOTES_SHOWN} more Notes, in the email."))
    for title, items in (("Bubbles", session.bubbles), ("Texts", session.texts)):
        if items:
            lines = "\n".join(f"• {escape(item.text)}" for item in items)
            blocks.append(md(f"*{title}*\n{lines}"))
    blocks.append(
        ActionsBlock(
            elements=[
                button("Email me", ids.ACTION_EMAIL_SHARED, session.session_id, style="primary")
            ]
        )
    )
    return message(f"Xenocept session shared by <@{sharer}>: {clip(first, 200)}", blocks)


def email_me_no_destination() -> Message:
    return plain(
        "Email me sends this session to your default email destination, but you have none "
        "yet: add one with `/xenocept add` (iCloud Mail or any SMTP server), then click "
        "Email me again."
    )


def email_me_already_sent(earlier: Delivery) -> Message:
    text = (
        f"You already sent this session to *{escape(earlier.destination_name)}* "
        f"{slack_date(earlier.created_at)}; Email me sends it once a day. To send it again, "
        "use the message menu → *Send to email*."
    )
    return message(text, [md(text)])


def email_me_not_queued() -> Message:
    return plain(
        "Email me could not be queued just now (the bot's database is unavailable): "
        "nothing was sent. Click Email me again in a few minutes."
    )
