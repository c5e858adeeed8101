"""Provider presets as data: adding a provider is one entry in ``PRESETS``.

Values come from ../shared/seed (the iCloud setup guide) and the Xenocept docs
(reference/xenocept.md §3). Rules are checked by :mod:`bot.forms`; advice for
failures is looked up by :mod:`bot.advice`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storage.models import Security


@dataclass(frozen=True)
class PasswordRule:
    """How a provider's app password looks, and how to tidy what users paste."""

    pattern: str | None  # full-match regex after tidying; None: any non-empty value
    strip_spaces: bool = False  # Gmail shows decorative spaces
    rehyphenate_16: bool = False  # iCloud: 16 letters typed without hyphens
    refusal: str = ""

    def tidy(self, raw: str) -> str:
        value = raw.strip()
        if self.strip_spaces:
            value = re.sub(r"\s+", "", value)
        if self.rehyphenate_16 and re.fullmatch(r"[a-z]{16}", value):
            value = "-".join(value[i : i + 4] for i in range(0, 16, 4))
        return value

    def accepts(self, value: str) -> bool:
        if not value:
            return False
        return self.pattern is None or re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    host: str
    port: int
    security: Security
    username_domains: tuple[str, ...]  # empty: any full address
    username_hint: str
    password: PasswordRule
    password_hint: str
    from_hint: str
    setup_steps: tuple[str, ...]
    revoke_hint: str
    auth_advice: str
    warmup_advice: str = ""
    default_name: str = ""
    plaintext_forbidden: bool = True  # Security "None" refused for this provider
    extra_advice: dict[str, str] = field(default_factory=dict)


ICLOUD_ASP_REFUSAL = (
    "This needs an app-specific password, shown by Apple as abcd-efgh-ijkl-mnop "
    "(16 letters, hyphens included). Your regular Apple ID password will not work. "
    "Turn on two-factor authentication, then at account.apple.com → Sign-In and Security → "
    "App-Specific Passwords click Generate (or +), label it Xenocept and paste it here."
)

ICLOUD = Preset(
    key="icloud",
    label="iCloud Mail",
    default_name="iCloud",
    host="smtp.mail.me.com",
    port=587,
    security=Security.STARTTLS,
    username_domains=("icloud.com", "me.com", "mac.com"),
    username_hint=(
        "Your full iCloud Mail address, e.g. jane@icloud.com. Don't strip the domain: "
        "the name alone won't authenticate. With a custom domain this is still your "
        "iCloud address."
    ),
    password=PasswordRule(
        pattern=r"[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}",
        rehyphenate_16=True,
        refusal=ICLOUD_ASP_REFUSAL,
    ),
    password_hint=(
        "The app-specific password from account.apple.com → Sign-In and Security → "
        "App-Specific Passwords, hyphens included (abcd-efgh-ijkl-mnop). Slack cannot hide "
        "what you type here: it is stored encrypted and never shown again."
    ),
    from_hint=(
        "Usually the same as Username. It may be an iCloud alias or a custom-domain address "
        "you verified in iCloud: authentication always uses your iCloud login."
    ),
    setup_steps=(
        "Make sure two-factor authentication is on for your Apple Account "
        "(Settings → your name → Sign-In & Security → Two-Factor Authentication).",
        "Sign in at account.apple.com → Sign-In and Security → App-Specific Passwords → "
        "Generate an app-specific password. Label it Xenocept so you can revoke just this one.",
        "Copy the password Apple shows (abcd-efgh-ijkl-mnop) immediately: Apple won't show it "
        "again.",
        "Add the destination here: Username is your full iCloud address, Password the "
        "app-specific password, hyphens included. A test session is sent when you save.",
    ),
    revoke_hint=(
        "To revoke access, go to account.apple.com → App-Specific Passwords, find the entry "
        "labelled Xenocept (or whatever you named it) and click Revoke. Only that password "
        "stops working; your other app-specific passwords keep working."
    ),
    auth_advice=(
        "You used your regular Apple ID password instead of an app-specific password, or the "
        "app-specific password was revoked. Generate one at account.apple.com → Sign-In and "
        "Security → App-Specific Passwords and use it, hyphens included."
    ),
    warmup_advice=(
        "Some new iCloud accounts have a brief warm-up period during which SMTP sending is "
        "throttled or blocked. Wait a few hours and try again. If it persists, contact Apple "
        "Support."
    ),
    extra_advice={
        "2fa": (
            "Turning two-factor authentication off revokes every app-specific password. If it "
            "was turned off, turn it back on and generate a fresh app-specific password."
        ),
        "from": (
            "From must be your iCloud address, one of your iCloud aliases, or a custom-domain "
            "address you verified in iCloud."
        ),
    },
)

OTHER = Preset(
    key="other",
    label="Other SMTP server",
    default_name="Email",
    host="",
    port=587,
    security=Security.STARTTLS,
    username_domains=(),
    username_hint="The login your mail provider gives for SMTP, usually your full address.",
    password=PasswordRule(pattern=None, refusal="Enter the SMTP password (an app password "
                          "where your provider offers one)."),
    password_hint=(
        "Use an app password where your provider offers one. Slack cannot hide what you type "
        "here: it is stored encrypted and never shown again."
    ),
    from_hint="The sender address. Your provider must allow this login to send as it.",
    setup_steps=(
        "Find your provider's SMTP submission settings (host, port, security).",
        "Create an app password if your provider offers them.",
        "Add the destination here; a test session is sent when you save.",
    ),
    revoke_hint="To revoke access, delete the app password at your mail provider.",
    auth_advice=(
        "The server refused the username or password. Check both, and use an app password if "
        "your provider requires one."
    ),
    plaintext_forbidden=False,
)

PRESETS: dict[str, Preset] = {preset.key: preset for preset in (ICLOUD, OTHER)}

#: Port/security pairs that cannot work: the reason is shown on the Security field.
MISMATCHES: dict[tuple[int, Security], str] = {
    (465, Security.STARTTLS): "Port 465 expects SSL/TLS from the first byte, not STARTTLS. "
    "Choose SSL/TLS, or use port 587 with STARTTLS.",
    (587, Security.SSL): "Port 587 starts in plain text and upgrades with STARTTLS; SSL/TLS "
    "there fails with 'wrong version number'. Choose STARTTLS, or use port 465 with SSL/TLS.",
}


def preset_for(key: str | None) -> Preset:
    return PRESETS.get(key or "", ICLOUD)


def preset_for_host(host: str) -> Preset | None:
    """The preset whose server this is, whatever the user picked (rules follow the server)."""
    wanted = host.strip().rstrip(".").casefold()
    return next((p for p in PRESETS.values() if p.host and p.host == wanted), None)
