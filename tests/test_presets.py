"""Every provider preset, table-driven over ``PRESETS``: defaults, password rules, port and
security pairs, the username rule and which presets are offered (pure: no Slack, no SMTP)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.forms import DestinationForm, ValidDestination, carry_over, validate
from bot.hostguard import allows_loopback
from bot.presets import (
    LOCAL_UNAVAILABLE,
    MISMATCHES,
    OTHER,
    PRESETS,
    STORED,
    Preset,
    find_preset,
    offered,
    preset_for_host,
    unavailable_reason,
)
from bot.views.destination_modal import FormMetadata, destination_modal
from storage.models import DestinationPublic, ScreenshotMode, Security


@dataclass(frozen=True)
class Case:
    """What a user of this provider types: a good username, passwords as pasted."""

    username: str
    accepted: tuple[tuple[str, str], ...]  # (typed, stored)
    refused: tuple[str, ...]
    host: str = ""  # when the preset has none
    from_address: str = ""  # when the username is not an address


CASES: dict[str, Case] = {
    "icloud": Case(
        "jane@icloud.com",
        accepted=(
            ("abcd-efgh-ijkl-mnop", "abcd-efgh-ijkl-mnop"),
            ("abcdefghijklmnop", "abcd-efgh-ijkl-mnop"),
            ("  abcd-efgh-ijkl-mnop ", "abcd-efgh-ijkl-mnop"),
        ),
        refused=("Correct-Horse-7", "abcd efgh ijkl mnop", "ABCD-EFGH-IJKL-MNOP", ""),
    ),
    "gmail": Case(
        "jane@gmail.com",
        accepted=(
            ("abcd efgh ijkl mnop", "abcdefghijklmnop"),  # as Google shows it
            ("abcdefghijklmnop", "abcdefghijklmnop"),
            (" abcd\u00a0efgh  ijkl mnop\n", "abcdefghijklmnop"),
        ),
        refused=(
            "Correct-Horse-7",
            "wxyz wxyz wxyz",
            "abcd-efgh-ijkl-mnop",
            "abcd efgh ijkl mnop qrst",
            "abcd efgh ijkl mn0p",
            "",
        ),
    ),
    "outlook": Case(
        "jane@outlook.com",
        accepted=(
            ("qwertzuiopasdfgh", "qwertzuiopasdfgh"),
            (" qwertzuiopasdfgh ", "qwertzuiopasdfgh"),
        ),
        refused=("", "   "),
    ),
    "yahoo": Case(
        "jane@yahoo.com",
        accepted=(
            ("abcdefghijklmnop", "abcdefghijklmnop"),
            ("abcd efgh ijkl mnop", "abcdefghijklmnop"),
        ),
        refused=("Correct-Horse-7", "abcdefghijklmno", "abcdefghijklmnopq", ""),
    ),
    "fastmail": Case(
        "jane@fastmail.com",
        accepted=(
            ("4k7q9x2m8w3z6p5r", "4k7q9x2m8w3z6p5r"),
            ("x" * 40, "x" * 40),
            ("abc", "abc"),
        ),  # any length
        refused=("", " "),
    ),
    "proton": Case(
        "jane@proton.me", accepted=(("Xb3kQ9-vLm2_pR7tZ", "Xb3kQ9-vLm2_pR7tZ"),), refused=("",)
    ),
    "postfix": Case(
        "jane@icloud.com",
        accepted=(("", ""), ("relay-secret", "relay-secret")),  # usually no login at all
        refused=(),
    ),
    "other": Case(
        "relay-user",
        host="mail.example.org",
        from_address="jane@example.org",
        accepted=(("anything long", "anything long"),),
        refused=("",),
    ),
    "microsoft365": Case("jane@contoso.com", accepted=(("whatever", "whatever"),), refused=("",)),
}

ALL = list(PRESETS.values())
NAMES = list(PRESETS)


def form(preset: Preset, **changes: str) -> DestinationForm:
    case = CASES[preset.key]
    values = {
        "name": preset.default_name,
        "host": preset.host or case.host,
        "port": str(preset.port),
        "security": preset.security.value,
        "username": case.username,
        "password": case.accepted[0][0],
        "from_address": case.from_address,
        "to": "jane@example.com",
        "screenshot_mode": "inline",
    }
    return DestinationForm(**{**values, **changes})


def check(preset: Preset, **changes: str) -> ValidDestination | dict[str, str]:
    return validate(form(preset, **changes), preset=preset, editing=False)


def errors_of(preset: Preset, **changes: str) -> dict[str, str]:
    result = check(preset, **changes)
    assert isinstance(result, dict), result
    return result


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_the_table_covers_every_preset_and_icloud_comes_first() -> None:
    assert set(CASES) == set(PRESETS)
    assert NAMES[0] == "icloud"
    listed = [p.key for p in offered(local_allowed=False)]
    assert listed == ["icloud", "gmail", "outlook", "yahoo", "fastmail", "other"]


@pytest.mark.parametrize("preset", ALL, ids=NAMES)
def test_every_preset_guides_the_user(preset: Preset) -> None:
    assert preset.label and preset.default_name and preset.setup_steps
    assert preset.username_hint and preset.from_hint and preset.revoke_hint
    assert preset.auth_advice
    assert STORED in preset.password_hint  # Slack cannot mask the field: say so
    assert preset.pairs[0] == (preset.port, preset.security)
    for port, security in preset.pairs:
        assert (port, security) not in MISMATCHES


def test_keys_and_aliases_name_one_preset_each() -> None:
    names = [name for p in ALL for name in (p.key, *p.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("gmail", "gmail"),
        ("Google", "gmail"),
        ("Google Workspace", "gmail"),
        ("outlook", "outlook"),
        ("hotmail", "outlook"),
        ("Live", "outlook"),
        ("yahoo", "yahoo"),
        ("FASTMAIL", "fastmail"),
        ("proton", "proton"),
        ("Proton Mail", "proton"),
        ("postfix", "postfix"),
        ("icloud", "icloud"),
        ("other", "other"),
        ("office365", "microsoft365"),
    ],
)
def test_find_preset_by_key_or_alias(typed: str, key: str) -> None:
    found = find_preset(typed)
    assert found is not None and found.key == key


def test_an_unknown_provider_is_none() -> None:
    assert find_preset("frobmail") is None


@pytest.mark.parametrize("preset", ALL, ids=NAMES)
def test_the_modal_shows_the_preset_defaults(preset: Preset) -> None:
    view = destination_modal(preset=preset, local_allowed=True).to_dict()
    fields = inputs(view)
    assert fields[ids.BLOCK_NAME]["element"]["initial_value"] == preset.default_name
    assert fields[ids.BLOCK_HOST]["element"].get("initial_value") == (preset.host or None)
    assert fields[ids.BLOCK_PORT]["element"]["initial_value"] == str(preset.port)
    security = fields[ids.BLOCK_SECURITY]["element"]["initial_option"]["value"]
    assert security == preset.security.value
    assert fields[ids.BLOCK_USERNAME]["hint"]["text"] == preset.username_hint
    password = fields[ids.BLOCK_PASSWORD]
    assert "initial_value" not in password["element"]
    assert password["hint"]["text"] == preset.password_hint
    assert password["label"]["text"] == preset.password_label
    assert password.get("optional", False) is preset.password.optional
    if preset.host:
        assert preset.pairs_text in fields[ids.BLOCK_PORT]["hint"]["text"]
    assert FormMetadata.load(view["private_metadata"]) == FormMetadata(preset.key, None)
    provider = fields.get(ids.BLOCK_PROVIDER)
    if unavailable_reason(preset, local_allowed=True) is None:
        assert provider is not None and provider["dispatch_action"] is True
        assert provider["element"]["action_id"] == ids.ACTION_CHOOSE_PROVIDER
        assert provider["element"]["initial_option"]["value"] == preset.key


def test_the_provider_select_lists_offered_presets_in_table_order() -> None:
    view = destination_modal(preset=PRESETS["icloud"], local_allowed=True).to_dict()
    select = inputs(view)[ids.BLOCK_PROVIDER]["element"]
    assert [o["value"] for o in select["options"]] == [p.key for p in ALL if not p.unavailable]
    assert view["blocks"][0]["block_id"] == ids.BLOCK_PROVIDER  # the flow starts with it


def test_editing_has_no_provider_choice() -> None:
    existing = DestinationPublic(
        id="d1",
        team_id="T1",
        user_id="U1",
        name="Gmail",
        provider="gmail",
        smtp_host="smtp.gmail.com",
        smtp_port=587,
        username="jane@gmail.com",
        from_address="jane@gmail.com",
        to_addresses="jane@gmail.com",
    )
    view = destination_modal(preset=PRESETS["gmail"], destination=existing).to_dict()
    assert ids.BLOCK_PROVIDER not in inputs(view)
    assert inputs(view)[ids.BLOCK_USERNAME]["element"]["initial_value"] == "jane@gmail.com"


ACCEPTED = [(p, typed, stored) for p in ALL for typed, stored in CASES[p.key].accepted]
REFUSED = [(p, typed) for p in ALL for typed in CASES[p.key].refused]


@pytest.mark.parametrize(
    ("preset", "typed", "stored"), ACCEPTED, ids=[f"{p.key}-{typed!r}" for p, typed, _ in ACCEPTED]
)
def test_accepted_passwords_are_tidied(preset: Preset, typed: str, stored: str) -> None:
    result = check(preset, password=typed)
    assert isinstance(result, ValidDestination), result
    assert result.password == stored
    assert result.fields.provider == preset.key


@pytest.mark.parametrize(
    ("preset", "typed"), REFUSED, ids=[f"{p.key}-{typed!r}" for p, typed in REFUSED]
)
def test_refused_passwords_explain_the_rule_on_the_password_field(
    preset: Preset, typed: str
) -> None:
    errors = errors_of(preset, password=typed)
    assert errors == {ids.BLOCK_PASSWORD: preset.password.refusal}
    if typed.strip():
        assert typed not in errors[ids.BLOCK_PASSWORD]  # what was typed is never echoed


def test_refusals_name_where_to_get_the_app_password() -> None:
    assert "myaccount.google.com/apppasswords" in PRESETS["gmail"].password.refusal
    assert "regular Yahoo password will not work" in PRESETS["yahoo"].password.refusal
    assert "16 characters" in PRESETS["yahoo"].password.refusal
    assert "account.microsoft.com" in PRESETS["outlook"].password.refusal
    assert "New app password" in PRESETS["fastmail"].password.refusal
    assert "Bridge" in PRESETS["proton"].password.refusal


PAIRS = [(p, port, security) for p in ALL for port, security in p.pairs]
MISMATCHED = [(p, pair) for p in ALL for pair in MISMATCHES]


@pytest.mark.parametrize(
    ("preset", "port", "security"), PAIRS, ids=[f"{p.key}-{port}-{s.value}" for p, port, s in PAIRS]
)
def test_documented_port_security_pairs_are_accepted(
    preset: Preset, port: int, security: Security
) -> None:
    result = check(preset, port=str(port), security=security.value)
    assert isinstance(result, ValidDestination), result
    assert (result.fields.smtp_port, result.fields.security) == (port, security)


def test_yahoo_and_fastmail_document_both_ports() -> None:
    assert set(PRESETS["yahoo"].pairs) == {(587, Security.STARTTLS), (465, Security.SSL)}
    assert PRESETS["fastmail"].pairs == ((465, Security.SSL), (587, Security.STARTTLS))


@pytest.mark.parametrize(
    ("preset", "pair"), MISMATCHED, ids=[f"{p.key}-{port}-{s.value}" for p, (port, s) in MISMATCHED]
)
def test_a_port_security_mismatch_is_refused_for_every_preset(
    preset: Preset, pair: tuple[int, Security]
) -> None:
    port, security = pair
    errors = errors_of(preset, port=str(port), security=security.value)
    assert errors == {ids.BLOCK_SECURITY: MISMATCHES[pair]}


@pytest.mark.parametrize("preset", ALL, ids=NAMES)
def test_no_encryption_only_where_the_preset_allows_it(preset: Preset) -> None:
    result = check(preset, port="25", security="none")
    if preset.plaintext_forbidden:
        assert isinstance(result, dict) and set(result) == {ids.BLOCK_SECURITY}
        assert preset.pairs_text in result[ids.BLOCK_SECURITY]
    else:
        assert isinstance(result, ValidDestination)


@pytest.mark.parametrize("preset", ALL, ids=NAMES)
def test_the_username_is_the_full_address_wherever_documented(preset: Preset) -> None:
    result = check(preset, username="jane", from_address="jane@example.org")
    if preset.full_address:
        assert isinstance(result, dict) and set(result) == {ids.BLOCK_USERNAME}
        assert f"jane@{preset.example_domain}" in result[ids.BLOCK_USERNAME]
        assert "don't strip the domain" in result[ids.BLOCK_USERNAME]
    else:
        assert isinstance(result, ValidDestination) and result.fields.username == "jane"


def test_only_icloud_restricts_the_username_domain() -> None:
    assert [p.key for p in ALL if p.username_domains] == ["icloud"]
    errors = errors_of(PRESETS["icloud"], username="jane@gmail.com")
    assert "iCloud Mail address" in errors[ids.BLOCK_USERNAME]
    assert isinstance(check(PRESETS["gmail"], username="jane@janedoe.example"), ValidDestination)


@pytest.mark.parametrize(
    "preset",
    [p for p in ALL if p.host and not p.local],
    ids=[p.key for p in ALL if p.host and not p.local],
)
def test_rules_follow_the_host_whatever_was_picked(preset: Preset) -> None:
    assert preset_for_host(preset.host.upper() + ".") is preset
    typed = form(preset, password=CASES[preset.key].accepted[0][0])
    result = validate(typed, preset=OTHER, editing=False)
    assert isinstance(result, ValidDestination) and result.fields.provider == preset.key


def test_local_hosts_never_pick_a_preset() -> None:
    assert preset_for_host("127.0.0.1") is None and preset_for_host("localhost") is None


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        ((), False),
        (("10.0.0.0/8",), False),
        (("smtp.internal.example",), False),
        (("127.0.0.1",), True),
        (("localhost",), True),
        (("LOCALHOST.",), True),
        (("127.0.0.0/8",), True),
        (("mail.example.org", " 127.0.0.1 "), True),
    ],
)
def test_allows_loopback(allowed: tuple[str, ...], expected: bool) -> None:
    assert allows_loopback(allowed) is expected


def test_local_presets_are_offered_only_when_loopback_is_allowed() -> None:
    local = {p.key for p in ALL if p.local}
    assert local == {"proton", "postfix"}
    assert local <= {p.key for p in offered(local_allowed=True)}
    assert not local & {p.key for p in offered(local_allowed=False)}
    for key in local:
        assert unavailable_reason(PRESETS[key], local_allowed=False) == LOCAL_UNAVAILABLE
        assert unavailable_reason(PRESETS[key], local_allowed=True) is None


def test_the_modal_explains_what_is_not_offered() -> None:
    strict = str(destination_modal(preset=PRESETS["icloud"]).to_dict()["blocks"])
    assert "Proton Mail Bridge" in strict and "Local Postfix relay" in strict
    assert "XENOCEPT_SMTP_ALLOW_HOSTS" in strict and "your own machine" in strict
    assert "OAuth 2.0" in strict  # Microsoft 365 work or school accounts, said plainly
    allowed = str(destination_modal(preset=PRESETS["icloud"], local_allowed=True).to_dict())
    assert "XENOCEPT_SMTP_ALLOW_HOSTS" not in allowed and "OAuth 2.0" in allowed


def test_microsoft_365_is_never_offered_but_its_host_is_known() -> None:
    m365 = PRESETS["microsoft365"]
    assert unavailable_reason(m365, local_allowed=True) == m365.unavailable
    assert "OAuth 2.0" in m365.unavailable and "2026" in m365.unavailable
    assert preset_for_host("smtp.office365.com") is m365


TYPED = DestinationForm(
    name="iCloud",
    host="smtp.mail.me.com",
    port="587",
    security="starttls",
    username="jane@example.com",
    password="abcd-efgh-ijkl-mnop",
    from_address="me@example.com",
    to="team@example.com",
    screenshot_mode=ScreenshotMode.ATTACHED,
)


@pytest.mark.parametrize(
    "preset", [p for p in ALL if not p.unavailable], ids=[p.key for p in ALL if not p.unavailable]
)
def test_switching_provider_keeps_what_the_provider_does_not_dictate(preset: Preset) -> None:
    switched = carry_over(TYPED, preset)
    assert (switched.host, switched.port, switched.security) == (
        preset.host,
        str(preset.port),
        preset.security.value,
    )
    assert (switched.username, switched.from_address, switched.to, switched.screenshot_mode) == (
        "jane@example.com",
        "me@example.com",
        "team@example.com",
        "attached",
    )
    assert switched.name == preset.default_name  # "iCloud" was only the default
    assert switched.password == ""  # never carried into a view


@pytest.mark.parametrize("name", ["Work mail", "icloud backup"])
def test_an_edited_name_is_kept(name: str) -> None:
    assert carry_over(DestinationForm(name=name), PRESETS["gmail"]).name == name


@pytest.mark.parametrize("name", ["", "iCloud", "gmail", "Email"])
def test_a_default_or_empty_name_follows_the_provider(name: str) -> None:
    assert carry_over(DestinationForm(name=name), PRESETS["yahoo"]).name == "Yahoo"


def test_the_refilled_modal_never_carries_the_password() -> None:
    view = destination_modal(preset=PRESETS["gmail"], values=carry_over(TYPED, PRESETS["gmail"]))
    data = view.to_dict()
    assert "abcd-efgh-ijkl-mnop" not in str(data)
    fields = inputs(data)
    assert fields[ids.BLOCK_USERNAME]["element"]["initial_value"] == "jane@example.com"
    assert fields[ids.BLOCK_HOST]["element"]["initial_value"] == "smtp.gmail.com"


def test_the_readme_lists_every_offered_provider() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Providers", 1)[1].split("\n## ", 1)[0]
    for preset in (p for p in ALL if not p.unavailable):
        assert f"(`{preset.key}`" in section and preset.label in section
        assert not preset.host or f"`{preset.host}`" in section
