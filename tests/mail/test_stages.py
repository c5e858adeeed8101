"""Every stage of an SMTP send fails with the code, the text and the guide's advice.

Real aiosmtplib against the iCloud-like aiosmtpd server (STARTTLS with a test CA, AUTH)."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import pytest
import trustme

from bot.advice import Target, for_send_failure
from bot.errors import SendFailure, Stage
from bot.hostguard import HostGuard
from bot.mail.smtp import Mailer, SmtpAccount
from bot.presets import ICLOUD
from storage.models import Security
from tests.support.harness import APPLE_ID_PASSWORD, ASP, JANE_LOGIN, loopback_resolver, trusting
from tests.support.icloud_smtpd import ICloudLikeServer

GUARD = HostGuard(allowed=["127.0.0.1"],
                  resolver=loopback_resolver({"smtp.mail.me.com": "127.0.0.1"}))


def account(server: ICloudLikeServer, *, password: str = ASP, ssl_port: bool = False,
            security: Security = Security.STARTTLS) -> SmtpAccount:
    port = server.smtps_port if ssl_port else server.submission_port
    return SmtpAccount(host="smtp.mail.me.com", port=port, security=security,
                       username=JANE_LOGIN, password=password)


def email(sender: str = JANE_LOGIN) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "x@example.com", "hi"
    message.set_content("hello")
    return message


async def send(ca: trustme.CA, smtp: SmtpAccount, sender: str = JANE_LOGIN,
               tls: ssl.SSLContext | None = None) -> None:
    mailer = Mailer(guard=GUARD, timeout=5, tls_context=(lambda: tls) if tls else trusting(ca))
    connection = await mailer.open(smtp)
    try:
        await connection.send(email(sender), sender=sender, recipients=["x@example.com"])
    finally:
        await connection.close()


async def failure(ca: trustme.CA, smtp: SmtpAccount, **kwargs: object) -> SendFailure:
    with pytest.raises(SendFailure) as caught:
        await send(ca, smtp, **kwargs)  # type: ignore[arg-type]
    return caught.value


def advice_text(failed: SendFailure, smtp: SmtpAccount) -> str:
    advice = for_send_failure(failed, Target(ICLOUD, smtp.host, smtp.port))
    return " ".join((advice.headline, advice.detail, *advice.fixes))


async def test_starttls_and_implicit_tls_both_deliver(ca: trustme.CA, icloud: ICloudLikeServer
                                                      ) -> None:
    await send(ca, account(icloud))
    await send(ca, account(icloud, ssl_port=True, security=Security.SSL))
    assert [m.login for m in await icloud.wait_for_messages(2)] == [JANE_LOGIN, JANE_LOGIN]


async def test_regular_apple_id_password_fails_at_login_with_the_guide_advice(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    smtp = account(icloud, password=APPLE_ID_PASSWORD)
    failed = await failure(ca, smtp)
    assert (failed.stage, failed.code, failed.transient) == (Stage.LOGIN, 535, False)
    text = advice_text(failed, smtp)
    assert "regular Apple ID password" in text and "app-specific password" in text
    assert "Turning two-factor authentication off revokes every app-specific password" in text
    assert APPLE_ID_PASSWORD not in text
    assert len(icloud.auth_attempts) <= 2


async def test_sender_not_owned_fails_at_sender_with_the_from_advice(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    smtp = account(icloud)
    failed = await failure(ca, smtp, sender="someone@example.com")
    assert (failed.stage, failed.code) == (Stage.SENDER, 550)
    assert "5.7.0" in failed.text
    assert "iCloud address" in advice_text(failed, smtp)
    await send(ca, smtp, sender="jane@janedoe.example")  # a verified custom-domain address


async def test_no_permission_to_send_gets_the_warm_up_advice(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    icloud.mail_from_reply = (550, "5.7.1 User has no permission to send mail through this "
                                   "server")
    smtp = account(icloud)
    text = advice_text(await failure(ca, smtp), smtp)
    assert "warm-up" in text and "Wait a few hours" in text and "Apple Support" in text


async def test_server_down_fails_at_connect_and_is_transient(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    icloud.down = True
    failed = await failure(ca, account(icloud))
    assert (failed.stage, failed.code, failed.transient) == (Stage.CONNECT, 421, True)


async def test_nothing_listening_fails_at_connect(ca: trustme.CA, icloud: ICloudLikeServer
                                                  ) -> None:
    smtp = SmtpAccount(host="smtp.mail.me.com", port=1, security=Security.STARTTLS,
                       username=JANE_LOGIN, password=ASP)
    failed = await failure(ca, smtp)
    assert failed.stage is Stage.CONNECT and failed.code is None
    assert "Check SMTP Host and SMTP Port" in advice_text(failed, smtp)


async def test_missing_starttls_means_the_password_is_never_sent(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    icloud.offer_starttls = False
    smtp = account(icloud)
    failed = await failure(ca, smtp)
    assert (failed.stage, failed.transient) == (Stage.TLS, False)
    assert icloud.auth_attempts == []
    assert "password was not sent" in advice_text(failed, smtp)


async def test_an_untrusted_certificate_fails_at_tls(ca: trustme.CA, icloud: ICloudLikeServer
                                                     ) -> None:
    other_ca = ssl.create_default_context()
    trustme.CA().configure_trust(other_ca)
    failed = await failure(ca, account(icloud), tls=other_ca)
    assert (failed.stage, failed.transient) == (Stage.TLS, False)
    assert icloud.auth_attempts == []


async def test_temporary_data_failure_is_transient_at_message(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    icloud.temp_fail_data = 1
    failed = await failure(ca, account(icloud))
    assert (failed.stage, failed.code, failed.transient) == (Stage.MESSAGE, 451, True)


async def test_the_guard_checks_the_address_actually_connected_to(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    strict = HostGuard(resolver=loopback_resolver({"smtp.mail.me.com": "127.0.0.1"}))
    mailer = Mailer(guard=strict, timeout=5, tls_context=trusting(ca))
    from bot.errors import HostNotAllowed

    with pytest.raises(HostNotAllowed):
        await mailer.open(account(icloud))
    assert icloud.connections == 0
