"""Each provider's documented failures produce that provider's advice, table-driven over the
presets: real aiosmtplib against the iCloud-like server, configured to answer like the
provider (its host name and certificate, its reply texts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
import trustme

from bot.advice import Target, for_send_failure
from bot.errors import SendFailure, Stage
from bot.forms import DestinationForm, ValidDestination, validate
from bot.hostguard import HostGuard
from bot.mail.smtp import Mailer, SmtpAccount
from bot.presets import M365_PLAIN, PRESETS, Preset
from storage.models import Security
from tests.support.harness import loopback_resolver, trusting
from tests.support.icloud_smtpd import Account, ICloudLikeServer

APP_PASSWORD = "wxyz-abcd-efgh-ijkl"  # the server knows it; 16 letters pass as Gmail/Yahoo
WRONG = "not-the-app-password"
PUBLIC = [p for p in PRESETS.values() if p.host and not p.local]
LOGINS = {
    "icloud": "jane@icloud.com",
    "gmail": "jane@gmail.com",
    "outlook": "jane@outlook.com",
    "yahoo": "jane@yahoo.com",
    "fastmail": "jane@fastmail.com",
    "microsoft365": "jane@contoso.com",
}
# A bad login, in each provider's words where the docs give them.
AUTH_REPLIES = {
    "yahoo": "535 5.7.0 Invalid username or password",
    "microsoft365": "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
}


@pytest.fixture(params=PUBLIC, ids=[p.key for p in PUBLIC])
def preset(request: pytest.FixtureRequest) -> Preset:
    assert isinstance(request.param, Preset)
    return request.param


@pytest.fixture
async def provider(ca: trustme.CA, preset: Preset) -> AsyncIterator[ICloudLikeServer]:
    """A server answering as ``preset.host`` (certificate included), one account."""
    login = LOGINS[preset.key]
    async with ICloudLikeServer(
        ca=ca,
        hostname=preset.host,
        accept_asp_without_hyphens=True,
        accounts=[Account(login=login, asp=APP_PASSWORD)],
    ) as server:
        server.auth_failure_reply = AUTH_REPLIES.get(preset.key, server.auth_failure_reply)
        yield server


def account(
    preset: Preset,
    server: ICloudLikeServer,
    *,
    password: str = APP_PASSWORD,
    username: str | None = None,
) -> SmtpAccount:
    implicit = preset.security is Security.SSL
    return SmtpAccount(
        host=preset.host,
        security=preset.security,
        port=server.smtps_port if implicit else server.submission_port,
        username=username or LOGINS[preset.key],
        password=password,
    )


def mailer(ca: trustme.CA, *names: str) -> Mailer:
    guard = HostGuard(
        allowed=["127.0.0.1"], resolver=loopback_resolver({name: "127.0.0.1" for name in names})
    )
    return Mailer(guard=guard, timeout=5, tls_context=trusting(ca))


async def send(ca: trustme.CA, smtp: SmtpAccount, sender: str | None = None) -> None:
    sender = sender or smtp.username
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "x@example.com", "hi"
    message.set_content("hello")
    connection = await mailer(ca, smtp.host).open(smtp)
    try:
        await connection.send(message, sender=sender, recipients=["x@example.com"])
    finally:
        await connection.close()


async def failure(ca: trustme.CA, smtp: SmtpAccount) -> SendFailure:
    with pytest.raises(SendFailure) as caught:
        await send(ca, smtp)
    return caught.value


def advice(failed: SendFailure, preset: Preset, smtp: SmtpAccount) -> tuple[str, ...]:
    found = for_send_failure(failed, Target(preset, smtp.host, smtp.port, smtp.username))
    return (found.headline, found.detail, *found.fixes)


async def test_the_app_password_as_the_form_stores_it_logs_in(
    ca: trustme.CA, preset: Preset, provider: ICloudLikeServer
) -> None:
    typed = {"gmail": "wxyz abcd efgh ijkl", "yahoo": "wxyzabcdefghijkl"}.get(
        preset.key, APP_PASSWORD
    )
    checked = validate(
        DestinationForm(
            name="x",
            host=preset.host,
            port=str(preset.port),
            security=preset.security.value,
            username=LOGINS[preset.key],
            password=typed,
            to="x@example.com",
        ),
        preset=preset,
        editing=False,
    )
    assert isinstance(checked, ValidDestination) and checked.password
    await send(ca, account(preset, provider, password=checked.password))
    [mail] = await provider.wait_for_messages(1)
    assert mail.login == LOGINS[preset.key]


async def test_a_bad_login_gets_the_providers_own_advice(
    ca: trustme.CA, preset: Preset, provider: ICloudLikeServer
) -> None:
    smtp = account(preset, provider, password=WRONG)
    failed = await failure(ca, smtp)
    assert (failed.stage, failed.code) == (Stage.LOGIN, 535)
    headline, detail, *fixes = advice(failed, preset, smtp)
    assert headline == "Logging in failed"
    assert preset.auth_advice in fixes
    if "2fa" in preset.extra_advice:  # 2-step off: turn it on, generate a new one
        assert preset.extra_advice["2fa"] in fixes
    assert WRONG not in " ".join((headline, detail, *fixes))


@pytest.mark.parametrize("preset", [PRESETS["yahoo"]], ids=["yahoo"])
async def test_yahoo_invalid_username_or_password_means_use_the_app_password(
    ca: trustme.CA, preset: Preset, provider: ICloudLikeServer
) -> None:
    smtp = account(preset, provider, password="Regular-Yahoo-Password-1")
    _, detail, *fixes = advice(await failure(ca, smtp), preset, smtp)
    assert "Invalid username or password" in detail
    assert fixes[0].startswith("“Invalid username or password” means the regular Yahoo password")
    assert "16-character app password" in fixes[0]
    assert "two-step verification" in fixes[1] and "generate a new app password" in fixes[1]


@pytest.mark.parametrize("preset", [PRESETS["gmail"]], ids=["gmail"])
async def test_gmail_points_at_2_step_verification_and_apppasswords(
    ca: trustme.CA, preset: Preset, provider: ICloudLikeServer
) -> None:
    smtp = account(preset, provider, password=WRONG)
    text = " ".join(advice(await failure(ca, smtp), preset, smtp))
    assert "2-Step Verification" in text and "myaccount.google.com/apppasswords" in text


THROTTLING = {
    "icloud": (550, "5.7.1 User has no permission to send mail through this server"),
    "yahoo": (
        451,
        "4.7.1 Messages from this account temporarily deferred: sending rate "
        "limited for new accounts",
    ),
}


@pytest.mark.parametrize("preset", [PRESETS[k] for k in THROTTLING], ids=list(THROTTLING))
async def test_new_account_throttling_means_wait_a_few_hours(
    ca: trustme.CA, preset: Preset, provider: ICloudLikeServer
) -> None:
    provider.mail_from_reply = THROTTLING[preset.key]
    smtp = account(preset, provider)
    *_, fix = advice(await failure(ca, smtp), preset, smtp)
    assert fix == preset.warmup_advice
    assert "ait a few hours" in fix


@pytest.mark.parametrize("preset", [PRESETS["microsoft365"]], ids=["microsoft365"])
async def test_microsoft_365_says_plainly_that_password_smtp_is_off(
    ca: trustme.CA, preset: Preset, provider: ICloudLikeServer
) -> None:
    smtp = account(preset, provider, password="an-app-password")
    _, detail, *fixes = advice(await failure(ca, smtp), preset, smtp)
    assert "basic authentication is disabled" in detail
    assert fixes == [M365_PLAIN]
    assert "OAuth 2.0" in M365_PLAIN and "1 March and 30 April 2026" in M365_PLAIN


@pytest.mark.parametrize("preset", [PRESETS["outlook"]], ids=["outlook"])
@pytest.mark.parametrize(
    ("username", "organisational"),
    [
        ("jane@contoso.com", True),
        ("jane@outlook.com", False),
        ("jane@hotmail.co.uk", False),
        ("jane@live.com", False),
    ],
)
async def test_outlook_with_a_work_or_school_domain_gets_the_microsoft_365_advice(
    ca: trustme.CA,
    preset: Preset,
    provider: ICloudLikeServer,
    username: str,
    organisational: bool,
) -> None:
    smtp = account(preset, provider, password=WRONG, username=username)
    _, _, *fixes = advice(await failure(ca, smtp), preset, smtp)
    assert (fixes[0] == M365_PLAIN) is organisational
    assert preset.auth_advice in fixes  # a consumer account still learns about app passwords


@pytest.mark.parametrize("preset", [PRESETS["outlook"]], ids=["outlook"])
async def test_microsofts_basic_auth_reply_gets_the_microsoft_365_advice_on_outlook_too(
    ca: trustme.CA, preset: Preset, provider: ICloudLikeServer
) -> None:
    provider.auth_failure_reply = AUTH_REPLIES["microsoft365"]
    smtp = account(preset, provider, password=WRONG)
    _, _, *fixes = advice(await failure(ca, smtp), preset, smtp)
    assert fixes[0] == M365_PLAIN


@pytest.mark.parametrize(
    ("key", "host", "usual"),
    [
        ("proton", "127.0.0.1", "Proton Mail Bridge: 127.0.0.1, port 1025"),
        ("postfix", "localhost", "Local Postfix relay: localhost, port 25"),
    ],
)
async def test_a_local_relay_that_is_not_running_says_it_must_run_beside_the_bot(
    ca: trustme.CA, key: str, host: str, usual: str
) -> None:
    preset = PRESETS[key]
    smtp = SmtpAccount(
        host=host, port=1, security=preset.security, username="jane@proton.me", password="x"
    )
    failed = await failure(ca, smtp)
    assert failed.stage is Stage.CONNECT
    _, _, reach, running = advice(failed, preset, smtp)
    assert usual in reach
    assert running == preset.extra_advice["connect"] and "same machine as this bot" in running
