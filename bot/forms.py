"""The destination form: parse the modal's state and check every field.

Pure functions: what a user typed in, either valid fields or errors keyed by the
input block to show them under (``response_action: errors``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from email_validator import EmailNotValidError, validate_email

from bot import ids
from bot.presets import MISMATCHES, PRESETS, Preset, preset_for_host
from storage.models import DestinationFields, ScreenshotMode, Security

MAX_RECIPIENTS = 50
NAME_MAX = 40
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LINE_BREAKS = re.compile("[\x85\u2028\u2029]")  # NEL, line and paragraph separators
USERNAME_MAX = 254  # the longest email address (RFC 5321 path limit)

FormErrors = dict[str, str]


@dataclass(frozen=True)
class DestinationForm:
    """Raw values from the modal, as strings."""

    name: str = ""
    host: str = ""
    port: str = ""
    security: str = ""
    username: str = ""
    password: str = field(default="", repr=False)  # never in a log or a traceback
    from_address: str = ""
    to: str = ""
    screenshot_mode: str = ""

    @classmethod
    def from_state(cls, values: Mapping[str, Mapping[str, Any]]) -> DestinationForm:
        def read(block: str) -> str:
            return input_value(values, block)

        return cls(
            name=read(ids.BLOCK_NAME),
            host=read(ids.BLOCK_HOST),
            port=read(ids.BLOCK_PORT),
            security=read(ids.BLOCK_SECURITY),
            username=read(ids.BLOCK_USERNAME),
            password=read(ids.BLOCK_PASSWORD),
            from_address=read(ids.BLOCK_FROM),
            to=read(ids.BLOCK_TO),
            screenshot_mode=read(ids.BLOCK_SCREENSHOT),
        )


def input_value(values: Mapping[str, Mapping[str, Any]], block: str) -> str:
    """What one input block of ``view.state.values`` holds: typed text or the chosen option."""
    elements = values.get(block) or {}  # one element per block, whatever its action_id
    element = elements.get(ids.VALUE) or next(iter(elements.values()), None) or {}
    option = element.get("selected_option") or {}
    return str(element.get("value") or option.get("value") or "").strip()


@dataclass(frozen=True)
class ValidDestination:
    fields: DestinationFields
    # None: keep the stored one (editing, left empty); never in a log or a traceback.
    password: str | None = field(repr=False)


def validate(
    form: DestinationForm, *, preset: Preset, editing: bool
) -> ValidDestination | FormErrors:
    errors: FormErrors = {}
    rules = preset_for_host(form.host) or preset
    name = _check(errors, ids.BLOCK_NAME, _name, form.name)
    host = _check(errors, ids.BLOCK_HOST, _host, form.host)
    port = _check(errors, ids.BLOCK_PORT, _port, form.port)
    security = _check(errors, ids.BLOCK_SECURITY, _security, form.security, rules)
    if port is not None and security is not None and (port, security) in MISMATCHES:
        errors[ids.BLOCK_SECURITY] = MISMATCHES[(port, security)]
    username = _check(errors, ids.BLOCK_USERNAME, _username, form.username, rules)
    password = _check(errors, ids.BLOCK_PASSWORD, _password, form.password, rules, editing)
    sender = None
    if form.from_address or username:  # left empty, From is the Username
        sender = _check(errors, ids.BLOCK_FROM, _address, form.from_address or username)
    to = _check(errors, ids.BLOCK_TO, _recipients, form.to)
    if errors:
        return errors
    assert name and host and port and security and username and sender and to
    fields = DestinationFields(
        name=name,
        provider=rules.key,
        smtp_host=host,
        smtp_port=port,
        security=security,
        username=username,
        from_address=sender,
        to_addresses=",".join(to),
        screenshot_mode=ScreenshotMode(form.screenshot_mode or ScreenshotMode.INLINE),
    )
    return ValidDestination(fields=fields, password=password)


def carry_over(typed: DestinationForm, chosen: Preset) -> DestinationForm:
    """The form after switching to ``chosen``: its server settings, the user's own values.

    Name, Username, From, To and Screenshot are the user's; the Name is replaced only while
    it is still some preset's default. The password is never carried (nor shown again).
    """
    defaults = {p.default_name.casefold() for p in PRESETS.values()}
    keep_name = typed.name and typed.name.casefold() not in defaults
    return replace(
        typed,
        name=typed.name if keep_name else chosen.default_name,
        host=chosen.host,
        port=str(chosen.port),
        security=chosen.security.value,
        password="",
    )


def _check(errors: FormErrors, block: str, rule: Any, *args: Any) -> Any:
    try:
        return rule(*args)
    except ValueError as error:
        errors[block] = str(error)
        return None


def _name(value: str) -> str:
    if not value:
        raise ValueError("Give the destination a name, e.g. iCloud.")
    if len(value) > NAME_MAX or CONTROL.search(value):
        raise ValueError(f"Use up to {NAME_MAX} characters, on one line.")
    return value


def _host(value: str) -> str:
    host = value.strip().rstrip(".").lower()
    if not host:
        raise ValueError("Enter the SMTP server, e.g. smtp.mail.me.com.")
    if not re.fullmatch(r"[a-z0-9.\-:\[\]]{1,253}", host) or ".." in host:
        raise ValueError("Enter a host name like smtp.mail.me.com, without http:// or a port.")
    return host


def _port(value: str) -> int:
    # ASCII digits only: int() would also read "٥٨٧" (Arabic-Indic) as 587.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise ValueError("Enter a port number: 587 for STARTTLS, 465 for SSL/TLS.")
    return int(value)


def _security(value: str, rules: Preset) -> Security:
    try:
        security = Security(value or Security.STARTTLS)
    except ValueError:
        raise ValueError("Choose STARTTLS, SSL/TLS or None.") from None
    if security is Security.NONE and rules.plaintext_forbidden:
        raise ValueError(
            f"{rules.label} requires an encrypted connection: choose {rules.pairs_text}."
        )
    return security


def _username(value: str, rules: Preset) -> str:
    if not value:
        raise ValueError("Enter the SMTP username: " + rules.username_hint)
    if CONTROL.search(value) or LINE_BREAKS.search(value):
        raise ValueError("The username must be on one line.")
    if len(value) > USERNAME_MAX:
        raise ValueError(
            f"Use up to {USERNAME_MAX} characters: a username is usually your email address."
        )
    if not rules.full_address:
        return value
    if "@" not in value:
        raise ValueError(
            f"Enter your full address, e.g. {value}@{rules.example_domain}: "
            "don't strip the domain — the name alone won't authenticate."
        )
    address = _address(value)
    domain = address.rsplit("@", 1)[1].lower()
    if rules.username_domains and domain not in rules.username_domains:
        domains = ", ".join("@" + d for d in rules.username_domains)
        raise ValueError(rules.domain_refusal.format(domains=domains))
    return address


def _password(value: str, rules: Preset, editing: bool) -> str | None:
    """The tidied password; None keeps the stored one (editing, left empty)."""
    if not value and editing:
        return None
    tidy = rules.password.tidy(value)
    if not rules.password.accepts(tidy):
        raise ValueError(rules.password.refusal)
    return tidy


def _address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(f"{value!r} is not a valid email address.") from None


def _recipients(value: str) -> list[str]:
    items = [item for item in re.split(r"[\s,;]+", value) if item]
    if not items:
        raise ValueError("Enter at least one address where sessions should be delivered.")
    if len(items) > MAX_RECIPIENTS:
        raise ValueError(f"Enter at most {MAX_RECIPIENTS} addresses.")
    unique: dict[str, str] = {}
    for address in map(_address, items):
        unique.setdefault(address.casefold(), address)
    return list(unique.values())
