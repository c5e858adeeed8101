"""Provider presets as data: adding a provider is one entry in ``PRESETS``.

Values come from ../shared/seed (the iCloud setup guide) and the Xenocept docs
(reference/xenocept.md §3). Rules are checked by :mod:`bot.forms`; advice for
failures is looked up by :mod:`bot.advice`; the setup modal shows the hints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from storage.models import Security

SECURITY_NAMES = {Security.STARTTLS: "STARTTLS", Security.SSL: "SSL/TLS", Security.NONE: "None"}
STORED = "Slack cannot hide what you type here: it is stored encrypted and never shown again."
LOCAL_UNAVAILABLE = (
    "Local relays listen on your own machine (127.0.0.1 or localhost), and this bot refuses "
    "local hosts unless the operator allows them in XENOCEPT_SMTP_ALLOW_HOSTS."
)
M365_PLAIN = (
    "Microsoft 365 work or school accounts can no longer send mail with a password: "
    "Microsoft switched off password (Basic Auth) SMTP for them between 1 March and "
    "30 April 2026, app passwords included. They need OAuth 2.0, which Xenocept for Slack "
    "does not support yet. Personal Outlook.com, Hotmail and Live addresses keep working "
    "with an app password."
)


@dataclass(frozen=True)
class PasswordRule:
    """How a provider's app password looks, and how to tidy what users paste."""

    pattern: str | None  # full-match regex after tidying; None: any non-empty value
    strip_spaces: bool = False  # Gmail shows decorative spaces
    rehyphenate_16: bool = False  # iCloud: 16 letters typed without hyphens
    refusal: str = ""
    optional: bool = False  # a local relay that needs no login: empty is fine

    def tidy(self, raw: str) -> str:
        value = raw.strip()
        if self.strip_spaces:
            value = re.sub(r"\s+", "", value)
        if self.rehyphenate_16 and re.fullmatch(r"[a-z]{16}", value):
            value = "-".join(value[i : i + 4] for i in range(0, 16, 4))
        return value

    def accepts(self, value: str) -> bool:
        if not value:
            return self.optional
        return self.pattern is None or re.fullmatch(self.pattern, value) is not None


Pair = tuple[int, Security]


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
    extra_advice: dict[str, str] = field(default_factory=dict)  # "2fa", "from", "org", "connect"
    aliases: tuple[str, ...] = ()  # what else `/xenocept add NAME` understands
    example_domain: str = "example.com"
    full_address: bool = True  # Username must be the full address (every documented provider)
    domain_refusal: str = ""  # Username outside username_domains; "{domains}" is filled in
    other_pairs: tuple[Pair, ...] = ()  # documented port/security pairs besides the default
    port_note: str = ""
    password_label: str = "App password"
    password_placeholder: str = "app password"
    personal_domains: str | None = None  # regex: other domains get extra_advice["org"]
    local: bool = False  # listens on the user's machine: offered only if loopback is allowed
    unavailable: str = ""  # never offered, and why (said plainly)

    @property
    def pairs(self) -> tuple[Pair, ...]:
        """Documented port/security pairs, the default first."""
        return ((self.port, self.security), *self.other_pairs)

    @property
    def pairs_text(self) -> str:
        return " or ".join(f"{SECURITY_NAMES[s]} on port {p}" for p, s in self.pairs)


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
    aliases=("apple", "applemail", "icloudmail", "mecom", "maccom"),
    example_domain="icloud.com",
    domain_refusal=(
        "Use your iCloud Mail address ({domains}): authentication is always against "
        "your iCloud login, even when you send from a custom domain (put that in From)."
    ),
    password_label="App-specific password",
    password_placeholder="abcd-efgh-ijkl-mnop",
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

GMAIL = Preset(
    key="gmail",
    label="Gmail / Google Workspace",
    default_name="Gmail",
    aliases=("google", "googlemail", "workspace", "googleworkspace", "gsuite"),
    host="smtp.gmail.com",
    port=587,
    security=Security.STARTTLS,
    username_domains=(),
    example_domain="gmail.com",
    username_hint=(
        "Your full Gmail or Google Workspace address, e.g. jane@gmail.com or "
        "jane@yourcompany.com. Don't strip the domain."
    ),
    password=PasswordRule(
        pattern=r"[A-Za-z]{16}",
        strip_spaces=True,
        refusal=(
            "This needs a Google App Password: 16 letters, which Google shows in groups of four "
            "(abcd efgh ijkl mnop; the spaces don't matter). Your Google Account password will "
            "not work. Turn on 2-Step Verification (myaccount.google.com → Security), then "
            "create one at myaccount.google.com/apppasswords, name it Xenocept and paste it here."
        ),
    ),
    password_label="App Password",
    password_placeholder="abcd efgh ijkl mnop",
    password_hint=(
        "The 16-letter App Password from myaccount.google.com/apppasswords. Google shows it in "
        "groups of four: the spaces are decorative and removed for you. " + STORED
    ),
    from_hint="Usually the same as Username.",
    setup_steps=(
        "Turn on 2-Step Verification for your Google Account (myaccount.google.com → Security).",
        "Go to myaccount.google.com/apppasswords, name the App Password Xenocept and click "
        "Create. Google shows it once.",
        "Add the destination here: Username is your full Gmail or Workspace address, Password "
        "the 16-letter App Password. A test session is sent when you save.",
    ),
    revoke_hint=(
        "To revoke access, delete the App Password you created for Xenocept at "
        "myaccount.google.com/apppasswords."
    ),
    auth_advice=(
        "Google refused the login. Use a 16-letter App Password, not your Google Account "
        "password, and your full address as Username. App Passwords need 2-Step Verification "
        "(myaccount.google.com → Security); create one at myaccount.google.com/apppasswords. "
        "If your Workspace admin has disabled App Passwords, the account needs OAuth 2.0, which "
        "Xenocept for Slack does not support yet."
    ),
    extra_advice={
        "2fa": (
            "If 2-Step Verification is off, App Passwords stop working: turn it back on "
            "(myaccount.google.com → Security) and create a new App Password at "
            "myaccount.google.com/apppasswords."
        ),
    },
)

OUTLOOK = Preset(
    key="outlook",
    label="Outlook.com / Hotmail / Live",
    default_name="Outlook.com",
    aliases=("hotmail", "live", "msn", "outlookcom", "microsoft"),
    host="smtp-mail.outlook.com",
    port=587,
    security=Security.STARTTLS,
    username_domains=(),
    example_domain="outlook.com",
    personal_domains=r"(outlook|hotmail|live|msn|passport|windowslive)(\.[a-z]{2,3}){1,2}",
    username_hint=(
        "Your full Outlook.com, Hotmail or Live address, e.g. jane@outlook.com. Microsoft 365 "
        "work or school accounts can't be used: Microsoft switched off password SMTP for them "
        "in March–April 2026."
    ),
    password=PasswordRule(
        pattern=None,
        refusal=(
            "Enter an app password: at account.microsoft.com → Security turn on two-step "
            "verification, then under App passwords create a new app password and paste it "
            "here. Your Microsoft account password will not work."
        ),
    ),
    password_hint=(
        "An app password from account.microsoft.com → Security → App passwords (under "
        "Advanced security options). " + STORED
    ),
    from_hint="Usually the same as Username.",
    setup_steps=(
        "At account.microsoft.com → Security, turn on two-step verification.",
        "Under Security → App passwords (in Advanced security options / Manage how I sign in), "
        "create a new app password and copy it immediately.",
        "Add the destination here: Username is your full Outlook.com, Hotmail or Live "
        "address, Password the app password. A test session is sent when you save.",
    ),
    revoke_hint=(
        "To revoke access, remove the app password at account.microsoft.com → Security → "
        "App passwords."
    ),
    auth_advice=(
        "Microsoft refused the login. Use an app password (account.microsoft.com → Security → "
        "App passwords), not your Microsoft account password, and your full address as "
        "Username."
    ),
    extra_advice={
        "2fa": (
            "App passwords need two-step verification. If it is off, turn it on at "
            "account.microsoft.com → Security and create a new app password."
        ),
        "org": M365_PLAIN,
    },
)

YAHOO = Preset(
    key="yahoo",
    label="Yahoo Mail",
    default_name="Yahoo",
    aliases=("yahoomail", "ymail", "rocketmail"),
    host="smtp.mail.yahoo.com",
    port=587,
    security=Security.STARTTLS,
    other_pairs=((465, Security.SSL),),
    port_note="587 is recommended.",
    username_domains=(),
    example_domain="yahoo.com",
    username_hint="Your full Yahoo address, e.g. jane@yahoo.com. Don't strip the domain.",
    password=PasswordRule(
        pattern=r"[A-Za-z0-9]{16}",
        strip_spaces=True,
        refusal=(
            "This needs a Yahoo app password: 16 characters. Your regular Yahoo password will "
            "not work. Turn on two-step verification (login.yahoo.com → Account info → Account "
            "Security), then choose Generate and manage app passwords → Other app, name it "
            "Xenocept, click Generate and paste it here."
        ),
    ),
    password_placeholder="16 characters",
    password_hint=(
        "The 16-character app password Yahoo generated (Yahoo won't show it again). " + STORED
    ),
    from_hint="Usually the same as Username.",
    setup_steps=(
        "At login.yahoo.com → your profile → Account info → Account Security, turn on "
        "two-step verification.",
        "Choose Generate and manage app passwords (sometimes Manage app passwords) → Other "
        "app, name it Xenocept and click Generate. Copy it now: it cannot be viewed again.",
        "Add the destination here: Username is your full Yahoo address, Password the "
        "16-character app password; port 587 with STARTTLS (465 with SSL/TLS also works).",
    ),
    revoke_hint=(
        "To revoke access, delete the Xenocept app password at login.yahoo.com → Account "
        "Security → Manage app passwords."
    ),
    auth_advice=(
        "“Invalid username or password” means the regular Yahoo password was used: use the "
        "16-character app password (login.yahoo.com → Account Security → Generate and manage "
        "app passwords) and your full Yahoo address as Username."
    ),
    warmup_advice=(
        "Brand-new Yahoo accounts are sometimes rate-limited on outbound SMTP. Wait a few "
        "hours and try again."
    ),
    extra_advice={
        "2fa": (
            "The option to generate app passwords only appears once two-step verification is "
            "on. If it is off, turn it on (login.yahoo.com → Account Security) and generate a "
            "new app password."
        ),
    },
)

FASTMAIL = Preset(
    key="fastmail",
    label="Fastmail",
    default_name="Fastmail",
    aliases=("fastmailcom", "fastmailfm"),
    host="smtp.fastmail.com",
    port=465,
    security=Security.SSL,
    other_pairs=((587, Security.STARTTLS),),
    port_note="465 is preferred; 587 is the fallback if 465 is blocked.",
    username_domains=(),
    example_domain="fastmail.com",
    username_hint=(
        "Your full Fastmail address, e.g. jane@fastmail.com. With a custom domain this is "
        "still your Fastmail login: put the alias in From."
    ),
    password=PasswordRule(
        pattern=None,
        refusal=(
            "Enter a Fastmail app password: Settings → Privacy & Security → Connected apps & "
            "API tokens → Manage app passwords and access → New app password. Fastmail "
            "requires one for SMTP even without two-step verification; your regular password "
            "will not work."
        ),
    ),
    password_hint=(
        "The app password Fastmail generated: a long random string (any length is fine). " + STORED
    ),
    from_hint=(
        "Usually the same as Username. With a custom domain, put the alias here and keep your "
        "Fastmail login as Username: From and Username may differ."
    ),
    setup_steps=(
        "In Fastmail: Settings → Privacy & Security → Connected apps & API tokens → Manage app "
        "passwords and access → New app password.",
        "Name it Xenocept, keep the access Mail, Contacts & Calendars (or Mail only) and click "
        "Generate.",
        "Add the destination here: port 465 with SSL/TLS (587 with STARTTLS if 465 is "
        "blocked). A test session is sent when you save.",
    ),
    revoke_hint=(
        "To revoke access, delete the Xenocept app password in Fastmail under Settings → "
        "Privacy & Security → Connected apps & API tokens."
    ),
    auth_advice=(
        "Fastmail refused the login. It always requires an app password for SMTP, even without "
        "two-step verification: create one under Settings → Privacy & Security → Connected "
        "apps & API tokens. Username is your Fastmail login, not a custom-domain alias."
    ),
)

PROTON = Preset(
    key="proton",
    label="Proton Mail Bridge",
    default_name="Proton Mail",
    aliases=("protonmail", "protonbridge", "bridge", "protonme"),
    host="127.0.0.1",
    port=1025,
    security=Security.STARTTLS,
    port_note="Bridge assigns the port (typically 1025): copy it from Bridge.",
    local=True,
    plaintext_forbidden=False,  # the connection never leaves the machine
    username_domains=(),
    example_domain="proton.me",
    username_hint=(
        "Your Proton email address, as Bridge shows it under Mailbox configuration → SMTP."
    ),
    password=PasswordRule(
        pattern=None,
        refusal=(
            "Enter the SMTP password Proton Mail Bridge generated (your account in Bridge → "
            "Mailbox configuration → SMTP). Your Proton account password will not work."
        ),
    ),
    password_label="Bridge password",
    password_placeholder="the password Bridge shows",
    password_hint=(
        "The SMTP password Proton Mail Bridge generated — never your Proton account "
        "password. " + STORED
    ),
    from_hint="Usually the same as Username.",
    setup_steps=(
        "Proton Mail Bridge needs a paid plan (Mail Plus, Proton Unlimited, Visionary or "
        "Mail Essentials/Professional/Enterprise); free accounts cannot use it.",
        "Run Bridge on the same machine as this bot, whenever the destination is used.",
        "Copy the port, username, password and security Bridge shows under your account's "
        "Mailbox configuration → SMTP into this form.",
    ),
    revoke_hint=(
        "The Bridge password only works through Proton Mail Bridge: remove the account from "
        "Bridge to cut access."
    ),
    auth_advice=(
        "Bridge refused the login. Use the SMTP password Bridge generated (Mailbox "
        "configuration → SMTP), never your Proton account password."
    ),
    extra_advice={
        "connect": (
            "Proton Mail Bridge must be running on the same machine as this bot whenever the "
            "destination is used; check that it runs and that the port matches the one Bridge "
            "shows."
        ),
    },
)

POSTFIX = Preset(
    key="postfix",
    label="Local Postfix relay",
    default_name="Postfix relay",
    aliases=("postfixrelay", "relay", "localrelay", "macospostfix"),
    host="localhost",
    port=25,
    security=Security.NONE,
    port_note="Postfix listens on 25 unless you changed it; the connection stays on this machine.",
    local=True,
    plaintext_forbidden=False,
    full_address=False,
    username_domains=(),
    username_hint=(
        "The address you send as. The relay normally needs no login: Postfix authenticates "
        "upstream with your provider's app password."
    ),
    password=PasswordRule(pattern=None, optional=True),
    password_label="Password",
    password_placeholder="usually empty",
    password_hint=(
        "Usually empty: your provider's app password lives in Postfix's SASL password map "
        "(smtp_sasl_password_maps), not in Xenocept. Fill this in only if the relay itself "
        "asks for a login. " + STORED
    ),
    from_hint="An address your upstream account may send as.",
    setup_steps=(
        "macOS ships Postfix pre-installed but disabled. Configure it as a smart-host relay on "
        "the machine this bot runs on (sudo edits to /etc/postfix/main.cf): relayhost = "
        "[smtp.gmail.com]:587 (or smtp.mail.me.com:587, smtp.fastmail.com:465, "
        "smtp-mail.outlook.com:587), smtp_sasl_auth_enable = yes, smtp_sasl_password_maps.",
        "Put your provider's app password in Postfix's SASL password map, not here.",
        "Add the destination here with host localhost; Postfix authenticates upstream.",
    ),
    revoke_hint=(
        "To revoke access, delete the app password at your mail provider and remove it from "
        "Postfix's SASL password map."
    ),
    auth_advice=(
        "The local relay refused the login. Leave Password empty if it needs none: your "
        "provider's app password belongs in Postfix's SASL password map."
    ),
    extra_advice={
        "connect": (
            "Postfix must be running (macOS ships it disabled) on the same machine as this bot."
        ),
    },
)

OTHER = Preset(
    key="other",
    label="Other SMTP server",
    default_name="Email",
    aliases=("smtp", "custom", "any"),
    host="",
    port=587,
    security=Security.STARTTLS,
    other_pairs=((465, Security.SSL),),
    full_address=False,
    username_domains=(),
    username_hint="The login your mail provider gives for SMTP, usually your full address.",
    password=PasswordRule(
        pattern=None,
        refusal="Enter the SMTP password (an app password where your provider offers one).",
    ),
    password_label="Password",
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

MICROSOFT_365 = Preset(
    key="microsoft365",
    label="Microsoft 365 (work or school)",
    default_name="Microsoft 365",
    aliases=("office365", "m365", "o365", "exchange", "exchangeonline"),
    host="smtp.office365.com",
    port=587,
    security=Security.STARTTLS,
    unavailable=(
        "Microsoft switched off password SMTP for work and school accounts between 1 March "
        "and 30 April 2026; they need OAuth 2.0, which this app does not support yet. "
        "Personal Outlook.com, Hotmail and Live addresses keep working with an app password."
    ),
    username_domains=(),
    username_hint="Your full work or school address.",
    password=PasswordRule(pattern=None, refusal="Enter the password."),
    password_label="Password",
    password_hint=STORED,
    from_hint="Usually the same as Username.",
    setup_steps=(M365_PLAIN,),
    revoke_hint="To revoke access, remove the app password in your Microsoft account.",
    auth_advice=M365_PLAIN,
)

#: Every provider, in the order the setup modal offers them (iCloud first: the default).
PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (ICLOUD, GMAIL, OUTLOOK, YAHOO, FASTMAIL, PROTON, POSTFIX, OTHER, MICROSOFT_365)
}

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
    """The preset whose server this is, whatever the user picked (rules follow the server).

    Local presets never match: 127.0.0.1 or localhost could be any relay.
    """
    wanted = host.strip().rstrip(".").casefold()
    return next((p for p in PRESETS.values() if p.host == wanted and not p.local), None)


def find_preset(name: str) -> Preset | None:
    """The preset a user means by ``name``: its key or an alias, any case or punctuation."""
    wanted = re.sub(r"[^a-z0-9]", "", name.casefold())
    return next((p for p in PRESETS.values() if wanted in (p.key, *p.aliases)), None)


def unavailable_reason(preset: Preset, *, local_allowed: bool) -> str | None:
    """Why this preset is not offered here, or None when it is."""
    if preset.unavailable:
        return preset.unavailable
    if preset.local and not local_allowed:
        return LOCAL_UNAVAILABLE
    return None


def offered(*, local_allowed: bool) -> Iterator[Preset]:
    return (
        p for p in PRESETS.values() if unavailable_reason(p, local_allowed=local_allowed) is None
    )


def not_offered(*, local_allowed: bool) -> dict[str, list[Preset]]:
    """The presets not offered here, grouped by the reason."""
    grouped: dict[str, list[Preset]] = {}
    for preset in PRESETS.values():
        reason = unavailable_reason(preset, local_allowed=local_allowed)
        if reason is not None:
            grouped.setdefault(reason, []).append(preset)
    return grouped
