"""The policy's rules and form, alone (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from bot import ids
from bot.errors import ConversationNotAllowed, DomainNotAllowed, ProviderNotAllowed, ThreadTooLong
from bot.policy import ConversationKind, Policy, conversation_kind, read_policy_form
from storage.models import WorkspacePolicy


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("a@example.com", True),
        ("a@EXAMPLE.com", True),
        ("a@sub.example.com", False),  # subdomains only when written *.example.com
        ("a@qa.corp.example", True),
        ("a@corp.example", False),
        ("a@evilcorp.example", False),
        ("a@icloud.com", False),
        ("a@bücher.example", True),  # the IDNA form is what the rule lists
    ],
)
def test_domains(address: str, allowed: bool) -> None:
    policy = Policy(allowed_domains=("example.com", "*.corp.example", "xn--bcher-kva.example"))
    assert policy.domain_allowed(address) is allowed


def test_each_rule_raises_its_own_refusal() -> None:
    policy = Policy(
        allowed_domains=("example.com",),
        allowed_providers=("gmail",),
        forward_from=frozenset({ConversationKind.PUBLIC}),
        blocked_channels=("C0BLOCK",),
        max_thread_messages=10,
    )
    with pytest.raises(ProviderNotAllowed):
        policy.check_destination(provider="icloud", recipients=["a@example.com"])
    with pytest.raises(DomainNotAllowed) as refused:
        policy.check_destination(provider="gmail", recipients=["a@example.com", "b@x.org"])
    assert refused.value.refused == ("b@x.org",)
    with pytest.raises(ConversationNotAllowed) as blocked:
        policy.check_conversation(channel_id="C0BLOCK", kind="public")
    assert blocked.value.blocked
    with pytest.raises(ConversationNotAllowed):
        policy.check_conversation(channel_id="C0OTHER", kind="im")
    with pytest.raises(ThreadTooLong):
        policy.check_thread(11)
    policy.check_thread(10)
    policy.check_conversation(channel_id="C0OTHER", kind="public")
    policy.check_destination(provider="gmail", recipients=["a@example.com"])


@pytest.mark.parametrize(
    ("channel_id", "name", "info", "kind"),
    [
        ("D0DM", "directmessage", {}, "im"),
        ("G0MP", "mpdm-jane--bob-1", {}, "mpim"),
        ("C0SECRET", "secret", {"is_private": True}, "private"),  # a private C id
        ("G0OLD", "privategroup", {}, "private"),
        ("C0OPEN", "open", {"is_private": False}, "public"),
        ("C0OPEN", "open", {}, "public"),
        ("C0X", "x", {"is_mpim": True, "is_private": True}, "mpim"),
    ],
)
def test_conversation_kind(channel_id: str, name: str, info: dict[str, Any], kind: str) -> None:
    assert conversation_kind(channel_id, name, info) == kind


def test_a_policy_round_trips_through_its_row() -> None:
    policy = Policy(
        allowed_domains=("example.com", "*.corp.example"),
        allowed_providers=("icloud", "gmail"),
        forward_from=frozenset({ConversationKind.PUBLIC, ConversationKind.DM}),
        blocked_channels=("C1", "C2"),
        max_thread_messages=50,
        keep_days=0,
    )
    row = WorkspacePolicy(team_id="T1", **policy.columns())
    assert Policy.of(row) == policy
    assert Policy.of(None) == Policy()


def form(**fields: Any) -> dict[str, dict[str, Any]]:
    def chosen(values: list[str]) -> dict[str, Any]:
        return {ids.VALUE: {"selected_options": [{"value": v} for v in values]}}

    return {
        ids.BLOCK_POLICY_DOMAINS: {ids.VALUE: {"value": fields.get("domains")}},
        ids.BLOCK_POLICY_PROVIDERS: chosen(fields.get("providers", [])),
        ids.BLOCK_POLICY_FROM: chosen(fields.get("kinds", ["public", "private", "mpim", "im"])),
        ids.BLOCK_POLICY_BLOCKED: {
            ids.VALUE: {"selected_conversations": fields.get("blocked", [])}
        },
        ids.BLOCK_POLICY_MAX_THREAD: {ids.VALUE: {"value": fields.get("largest")}},
        ids.BLOCK_POLICY_KEEP_DAYS: {ids.VALUE: {"value": fields.get("keep")}},
        **({ids.BLOCK_POLICY_SHARING: chosen(fields["sharing"])} if "sharing" in fields else {}),
    }


def test_the_form_reads_lists_and_defaults() -> None:
    policy = read_policy_form(
        form(domains="Example.com, *.corp.example\nexample.com", providers=["gmail", "icloud"])
    )
    assert isinstance(policy, Policy)
    assert policy.allowed_domains == ("example.com", "*.corp.example")
    assert policy.allowed_providers == ("icloud", "gmail")  # in the presets' order
    assert policy.keep_days == 365 and policy.max_thread_messages is None


@pytest.mark.parametrize(
    ("sharing", "allowed"),
    [([ids.SHARING_ALLOWED], True), ([], False), (None, True)],  # None: a pre-upgrade modal
)
def test_the_sharing_checkbox(sharing: list[str] | None, allowed: bool) -> None:
    fields = {} if sharing is None else {"sharing": sharing}
    policy = read_policy_form(form(**fields))
    assert isinstance(policy, Policy) and policy.allow_sharing is allowed


@pytest.mark.parametrize(
    ("fields", "block"),
    [
        ({"domains": "jane@example.com"}, ids.BLOCK_POLICY_DOMAINS),
        ({"domains": "exa mple"}, ids.BLOCK_POLICY_DOMAINS),
        ({"domains": "*.*.example.com"}, ids.BLOCK_POLICY_DOMAINS),
        ({"providers": ["aol"]}, ids.BLOCK_POLICY_PROVIDERS),
        ({"kinds": []}, ids.BLOCK_POLICY_FROM),
        ({"kinds": ["everything"]}, ids.BLOCK_POLICY_FROM),
        ({"blocked": ["not-an-id"]}, ids.BLOCK_POLICY_BLOCKED),
        ({"blocked": [f"C{n:04d}" for n in range(101)]}, ids.BLOCK_POLICY_BLOCKED),
        ({"largest": "-5"}, ids.BLOCK_POLICY_MAX_THREAD),
        ({"largest": "0"}, ids.BLOCK_POLICY_MAX_THREAD),
        ({"keep": "-1"}, ids.BLOCK_POLICY_KEEP_DAYS),
        ({"keep": "1e3"}, ids.BLOCK_POLICY_KEEP_DAYS),
    ],
)
def test_the_form_refuses_on_the_exact_field(fields: dict[str, Any], block: str) -> None:
    errors = read_policy_form(form(**fields))
    assert isinstance(errors, dict) and set(errors) == {block}
