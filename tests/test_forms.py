"""Every field rule of the setup modal, table-driven (pure: no Slack, no SMTP)."""

from __future__ import annotations

import pytest

from bot import ids
from bot.forms import DestinationForm, ValidDestination, validate
from bot.presets import ICLOUD, OTHER, Preset

GOOD = {
    "name": "iCloud",
    "host": "smtp.mail.me.com",
    "port": "587",
    "security": "starttls",
    "username": "jane@icloud.com",
    "password": "abcd-efgh-ijkl-mnop",
    "from_address": "",
    "to": "jane@icloud.com",
    "screenshot_mode": "inline",
}


def check(
    preset: Preset = ICLOUD, editing: bool = False, **changes: str
) -> ValidDestination | dict[str, str]:
    return validate(DestinationForm(**{**GOOD, **changes}), preset=preset, editing=editing)


def errors_of(**changes: str) -> dict[str, str]:
    result = validate(DestinationForm(**{**GOOD, **changes}), preset=ICLOUD, editing=False)
    assert isinstance(result, dict), result
    return result


def test_the_guide_values_are_accepted_and_from_defaults_to_username() -> None:
    result = check()
    assert isinstance(result, ValidDestination)
    assert result.fields.from_address == "jane@icloud.com"
    assert result.fields.smtp_port == 587 and result.fields.security == "starttls"
    assert result.password == "abcd-efgh-ijkl-mnop"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  abcd-efgh-ijkl-mnop  ", "abcd-efgh-ijkl-mnop"),  # surrounding spaces trimmed
        ("abcdefghijklmnop", "abcd-efgh-ijkl-mnop"),  # 16 letters re-hyphenated
    ],
)
def test_app_specific_password_is_tidied(typed: str, stored: str) -> None:
    result = check(password=typed)
    assert isinstance(result, ValidDestination) and result.password == stored


@pytest.mark.parametrize(
    "typed",
    [
        "Correct-Horse-7",  # a regular Apple ID password
        "abcd-efgh-ijkl",  # too short
        "ABCD-EFGH-IJKL-MNOP",  # Apple shows lower case
        "abcd efgh ijkl mnop",
        "abcd-efgh-ijkl-mnop-qrst",
        "",
    ],
)
def test_anything_but_an_app_specific_password_is_refused_on_the_password_field(
    typed: str,
) -> None:
    errors = errors_of(password=typed)
    assert set(errors) == {ids.BLOCK_PASSWORD}
    message = errors[ids.BLOCK_PASSWORD]
    assert "regular Apple ID password will not work" in message
    assert "App-Specific Passwords" in message and "two-factor" in message
    assert "Correct-Horse-7" not in message  # what was typed is never echoed back


def test_bare_local_part_username_is_refused_saying_the_domain_must_stay() -> None:
    errors = errors_of(username="jane")
    assert set(errors) == {ids.BLOCK_USERNAME}
    assert "jane@icloud.com" in errors[ids.BLOCK_USERNAME]
    assert "don't strip the domain" in errors[ids.BLOCK_USERNAME]


def test_custom_domain_goes_in_from_not_username() -> None:
    errors = errors_of(username="jane@janedoe.example")
    assert "custom domain" in errors[ids.BLOCK_USERNAME]
    result = check(from_address="jane@janedoe.example")
    assert isinstance(result, ValidDestination)
    assert result.fields.from_address == "jane@janedoe.example"


@pytest.mark.parametrize(
    ("port", "security", "reason"),
    [
        ("465", "starttls", "Port 465 expects SSL/TLS"),
        ("587", "ssl", "Port 587 starts in plain text"),
    ],
)
def test_port_security_mismatch_is_refused_with_the_reason(
    port: str, security: str, reason: str
) -> None:
    errors = errors_of(port=port, security=security)
    assert set(errors) == {ids.BLOCK_SECURITY}
    assert reason in errors[ids.BLOCK_SECURITY]


def test_implicit_tls_on_465_is_accepted() -> None:
    assert isinstance(check(port="465", security="ssl"), ValidDestination)


def test_no_encryption_is_refused_for_icloud_but_allowed_for_another_server() -> None:
    assert ids.BLOCK_SECURITY in errors_of(security="none", port="25")
    other = check(
        preset=OTHER,
        host="mail.example.org",
        port="25",
        security="none",
        username="relay-user",
        password="anything long",
        from_address="a@example.org",
    )
    assert isinstance(other, ValidDestination)


def test_icloud_rules_follow_the_host_even_when_other_was_picked() -> None:
    errors = validate(
        DestinationForm(**{**GOOD, "password": "regular password"}), preset=OTHER, editing=False
    )
    assert isinstance(errors, dict) and ids.BLOCK_PASSWORD in errors


@pytest.mark.parametrize(
    ("field", "value", "block"),
    [
        ("name", "", ids.BLOCK_NAME),
        ("name", "x" * 41, ids.BLOCK_NAME),
        ("host", "", ids.BLOCK_HOST),
        ("host", "https://smtp.mail.me.com", ids.BLOCK_HOST),
        ("port", "abc", ids.BLOCK_PORT),
        ("port", "70000", ids.BLOCK_PORT),
        ("port", "٥٨٧", ids.BLOCK_PORT),  # Arabic-Indic digits: int() reads them as 587
        ("port", "５８７", ids.BLOCK_PORT),  # fullwidth
        ("username", "jane@icloud.com\u2028x", ids.BLOCK_USERNAME),
        ("username", "a" * 10_000 + "@icloud.com", ids.BLOCK_USERNAME),
        ("security", "tls13", ids.BLOCK_SECURITY),
        ("from_address", "not an address", ids.BLOCK_FROM),
        ("to", "", ids.BLOCK_TO),
        ("to", "a@example.com, nope", ids.BLOCK_TO),
    ],
)
def test_each_bad_field_gets_its_own_inline_error(field: str, value: str, block: str) -> None:
    assert set(errors_of(**{field: value})) == {block}


def test_several_recipients_are_split_and_deduplicated() -> None:
    result = check(to="a@example.com, b@example.com\nA@example.com; c@example.com")
    assert isinstance(result, ValidDestination)
    assert result.fields.to_addresses == "a@example.com,b@example.com,c@example.com"


def test_editing_with_an_empty_password_keeps_the_stored_one() -> None:
    result = check(editing=True, password="")
    assert isinstance(result, ValidDestination) and result.password is None


def test_passwords_never_show_in_a_repr() -> None:
    typed = DestinationForm(**{**GOOD, "password": "abcd-efgh-ijkl-mnop"})
    valid = validate(typed, preset=ICLOUD, editing=False)
    assert "abcd-efgh" not in repr(typed) and "abcd-efgh" not in repr(valid)
