"""A workspace's policy as rules, and the policy form: pure, no I/O.

Every place that lets something leave the workspace asks these rules (through
``bot/policy_service.py``); each refusal is a ``PolicyRefusal`` that ``bot.advice`` words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot import ids
from bot.errors import ConversationNotAllowed, DomainNotAllowed, ProviderNotAllowed, ThreadTooLong
from bot.presets import PRESETS
from bot.render.headers import ascii_domain
from storage.models import WorkspacePolicy

DEFAULT_KEEP_DAYS = 365
MAX_KEEP_DAYS = 36_500
MAX_DOMAINS = 200
MAX_BLOCKED = 100  # the blocked-channels select's max_selected_items
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


class ConversationKind(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    GROUP_DM = "mpim"
    DM = "im"


KIND_LABELS = {
    ConversationKind.PUBLIC: "Public channels",
    ConversationKind.PRIVATE: "Private channels",
    ConversationKind.GROUP_DM: "Group DMs",
    ConversationKind.DM: "Direct messages",
}


def conversation_kind(channel_id: str, name: str | None, info: Mapping[str, Any]) -> str:
    """The kind of a conversation from ``conversations.info`` when Slack gave it, else from
    the shortcut payload (a D id is a DM; Slack names group DMs "mpdm-…" and private
    channels it hides "privategroup")."""
    if info.get("is_im") or channel_id.startswith("D"):
        return ConversationKind.DM
    if info.get("is_mpim") or (name or "").startswith("mpdm-"):
        return ConversationKind.GROUP_DM
    if (
        info.get("is_private")
        or name == "privategroup"
        or ("is_private" not in info and (channel_id.startswith("G")))
    ):
        return ConversationKind.PRIVATE
    return ConversationKind.PUBLIC


@dataclass(frozen=True)
class Policy:
    allowed_domains: tuple[str, ...] = ()  # "example.com", "*.example.com"; () allows any
    allowed_providers: tuple[str, ...] = ()  # preset keys; () allows all
    forward_from: frozenset[str] = field(default_factory=lambda: frozenset(ConversationKind))
    blocked_channels: tuple[str, ...] = ()
    max_thread_messages: int | None = None
    keep_days: int = DEFAULT_KEEP_DAYS  # 0 keeps history forever
    allow_sharing: bool = True  # members may post sessions from their desktop (share keys)

    @classmethod
    def of(cls, row: WorkspacePolicy | None) -> Policy:
        if row is None:
            return cls()
        return cls(
            allowed_domains=tuple(d for d in row.allowed_domains.split("\n") if d),
            allowed_providers=tuple(p for p in row.allowed_providers.split(",") if p),
            forward_from=frozenset(k for k in row.forward_from.split(",") if k),
            blocked_channels=tuple(c for c in row.blocked_channels.split(",") if c),
            max_thread_messages=row.max_thread_messages,
            keep_days=row.keep_days,
            allow_sharing=row.allow_sharing,
        )

    def columns(self) -> dict[str, Any]:
        """The values storage keeps (``WorkspacePolicy``'s editable columns)."""
        return {
            "allowed_domains": "\n".join(self.allowed_domains),
            "allowed_providers": ",".join(self.allowed_providers),
            "forward_from": ",".join(k for k in ConversationKind if k in self.forward_from),
            "blocked_channels": ",".join(self.blocked_channels),
            "max_thread_messages": self.max_thread_messages,
            "keep_days": self.keep_days,
            "allow_sharing": self.allow_sharing,
        }

    # -------------------------------------------------------------- the rules

    def domain_allowed(self, address: str) -> bool:
        if not self.allowed_domains:
            return True
        domain = ascii_domain(address.rsplit("@", 1)[-1].strip().lower())
        return any(
            domain.endswith(rule[1:]) if rule.startswith("*.") else domain == rule
            for rule in self.allowed_domains
        )

    def check_destination(self, *, provider: str, recipients: Sequence[str]) -> None:
        """Raises when the provider or any recipient is outside the policy."""
        if self.allowed_providers and provider not in self.allowed_providers:
            raise ProviderNotAllowed(provider=provider, allowed=self.allowed_providers)
        refused = tuple(r for r in recipients if not self.domain_allowed(r))
        if refused:
            raise DomainNotAllowed(refused=refused, allowed=self.allowed_domains)

    def complies(self, *, provider: str, recipients: Sequence[str]) -> bool:
        try:
            self.check_destination(provider=provider, recipients=recipients)
        except (ProviderNotAllowed, DomainNotAllowed):
            return False
        return True

    def check_conversation(self, *, channel_id: str, kind: str) -> None:
        if channel_id in self.blocked_channels:
            raise ConversationNotAllowed(kind=kind, blocked=True)
        if kind not in self.forward_from:
            raise ConversationNotAllowed(kind=kind, blocked=False)

    def check_thread(self, messages: int) -> None:
        if self.max_thread_messages is not None and messages > self.max_thread_messages:
            raise ThreadTooLong(messages=messages, limit=self.max_thread_messages)


# ------------------------------------------------------------------ the form


def _values(values: Mapping[str, Mapping[str, Any]], block: str) -> Mapping[str, Any]:
    elements = values.get(block) or {}
    return elements.get(ids.VALUE) or next(iter(elements.values()), None) or {}


def _text(values: Mapping[str, Mapping[str, Any]], block: str) -> str:
    return str(_values(values, block).get("value") or "").strip()


def _chosen(values: Mapping[str, Mapping[str, Any]], block: str) -> list[str]:
    options = _values(values, block).get("selected_options") or []
    return [str(o.get("value", "")) for o in options if isinstance(o, Mapping)]


def read_policy_form(values: Mapping[str, Mapping[str, Any]]) -> Policy | dict[str, str]:
    """The policy the modal describes, or errors keyed by the input block they are about."""
    errors: dict[str, str] = {}
    domains = _domains(_text(values, ids.BLOCK_POLICY_DOMAINS), errors)
    providers = _chosen(values, ids.BLOCK_POLICY_PROVIDERS)
    if any(p not in PRESETS for p in providers):
        errors[ids.BLOCK_POLICY_PROVIDERS] = "Choose providers from the list."
    kinds = _chosen(values, ids.BLOCK_POLICY_FROM)
    if any(k not in set(ConversationKind) for k in kinds):
        errors[ids.BLOCK_POLICY_FROM] = "Choose kinds of conversation from the list."
    elif not kinds:
        errors[ids.BLOCK_POLICY_FROM] = (
            "Choose at least one kind of conversation (to stop all forwarding, remove the app)."
        )
    blocked = _values(values, ids.BLOCK_POLICY_BLOCKED).get("selected_conversations") or []
    if not all(isinstance(c, str) and re.fullmatch(r"[CGD][A-Z0-9]{2,}", c) for c in blocked):
        errors[ids.BLOCK_POLICY_BLOCKED] = "Choose conversations from the list."
    elif len(blocked) > MAX_BLOCKED:
        errors[ids.BLOCK_POLICY_BLOCKED] = f"Block at most {MAX_BLOCKED} conversations."
    largest = _whole(
        errors, ids.BLOCK_POLICY_MAX_THREAD, _text(values, ids.BLOCK_POLICY_MAX_THREAD), 1, 100_000
    )
    keep = _whole(
        errors, ids.BLOCK_POLICY_KEEP_DAYS, _text(values, ids.BLOCK_POLICY_KEEP_DAYS), 0,
        MAX_KEEP_DAYS,
    )  # fmt: skip
    if errors:
        return errors
    return Policy(
        allowed_domains=domains,
        allowed_providers=tuple(p for p in PRESETS if p in providers),
        forward_from=frozenset(kinds),
        blocked_channels=tuple(dict.fromkeys(blocked)),
        max_thread_messages=largest,
        keep_days=DEFAULT_KEEP_DAYS if keep is None else keep,
        allow_sharing=_sharing(values),
    )


def _sharing(values: Mapping[str, Mapping[str, Any]]) -> bool:
    # A modal opened before the sharing checkbox existed has no such block: it could not
    # turn sharing off, so it leaves it on (as the upgrade did).
    if ids.BLOCK_POLICY_SHARING not in values:
        return True
    return ids.SHARING_ALLOWED in _chosen(values, ids.BLOCK_POLICY_SHARING)


def _domains(text: str, errors: dict[str, str]) -> tuple[str, ...]:
    found: list[str] = []
    for raw in re.split(r"[\s,;]+", text):
        if not raw:
            continue
        wildcard = raw.startswith("*.")
        domain = ascii_domain(raw.removeprefix("*.").lower().rstrip("."))
        entry = f"*.{domain}" if wildcard else domain
        if not _DOMAIN.fullmatch(entry) or "@" in raw:
            errors[ids.BLOCK_POLICY_DOMAINS] = (
                f"“{raw[:60]}” is not a domain: write one like example.com, or *.example.com "
                "for its subdomains."
            )
            return ()
        found.append(entry)
    if len(found) > MAX_DOMAINS:
        errors[ids.BLOCK_POLICY_DOMAINS] = f"List at most {MAX_DOMAINS} domains."
    return tuple(dict.fromkeys(found))


def _whole(errors: dict[str, str], block: str, text: str, low: int, high: int) -> int | None:
    """A whole number between ``low`` and ``high``; None when left empty."""
    if not text:
        return None
    if not re.fullmatch(r"[0-9]+", text) or not low <= int(text) <= high:
        errors[block] = f"Enter a whole number from {low:,} to {high:,}, or leave it empty."
        return None
    return int(text)
