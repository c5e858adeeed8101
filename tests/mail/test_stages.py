"""Every stage of an SMTP send fails with the code, the text and the guide's advice.

Real aiosmtplib against the iCloud-like aiosmtpd server (STARTTLS with a test CA, AUTH)."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
import trustme

from bot.advice import Target, for_send_failure
from bot.errors import SendFailure, Stage, Symptom
from bot.hostguard import HostGuard
from bot.mail.smtp import Mailer, RecipientRefusal, SendReceipt, SmtpAccount, ehlo_name
from bot.presets import ICLOUD
from storage.models import Security
from tests.support.harness import APPLE_ID_PASSWORD, ASP, JANE_LOGIN, loopback_resolver, trusting
from tests.support.icloud_smtpd import ICloudLikeServer

GUARD = HostGuard(
    allowed=["127.0.0.1"], resolver=loopback_resolver({"smtp.mail.me.com": "127.0.0.1"})
)


def account(
    server: ICloudLikeServer,
    *,
    password: str = ASP,
    ssl_port: bool = False,
    security: Security = Security.STARTTLS,
) -> SmtpAccount:
    port = server.smtps_port if ssl_port else server.submission_port
    return SmtpAccount(
        host="smtp.mail.me.com",
        port=port,
        security=security,
        username=JANE_LOGIN,
        password=password,
    )


def email(sender: str = JANE_LOGIN) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "x@example.com", "hi"
    message.set_content("hello")
    return message


async def send(
    ca: trustme.CA, smtp: SmtpAccount, sender: str = JANE_LOGIN, tls: ssl.SSLContext | None = None
) -> None:
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


async def test_starttls_and_implicit_tls_both_deliver(
    ca: trustme.CA, icloud: ICloudLikeServer
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
    assert len(icloud.auth_attempts) == 1  # never a second mechanism with the same password


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
    icloud.mail_from_reply = (550, "5.7.1 User has no permission to send mail through this server")
    smtp = account(icloud)
    text = advice_text(await failure(ca, smtp), smtp)
    assert "warm-up" in text and "Wait a few hours" in text and "Apple Support" in text


async def test_server_down_fails_at_connect_and_is_transient(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    icloud.down = True
    failed = await failure(ca, account(icloud))
    assert (failed.stage, failed.code, failed.transient) == (Stage.CONNECT, 421, True)


async def test_nothing_listening_fails_at_connect(ca: trustme.CA, icloud: ICloudLikeServer) -> None:
    smtp = SmtpAccount(
        host="smtp.mail.me.com",
        port=1,
        security=Security.STARTTLS,
        username=JANE_LOGIN,
        password=ASP,
    )
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


async def test_an_untrusted_certificate_fails_at_tls(
    ca: trustme.CA, icloud: ICloudLikeServer
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


async def mailer_send(
    ca: trustme.CA, smtp: SmtpAccount, recipients: list[str], wait: float = 5
) -> SendReceipt:
    mailer = Mailer(guard=GUARD, timeout=wait, tls_context=trusting(ca))
    connection = await mailer.open(smtp)
    try:
        return await connection.send(email(), sender=JANE_LOGIN, recipients=recipients)
    finally:
        await connection.close()


async def test_a_partly_refused_send_returns_who_was_refused(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    icloud.rcpt_replies["gone@example.com"] = "550 5.1.1 <gone@example.com>: user unknown"
    receipt = await mailer_send(ca, account(icloud), ["x@example.com", "gone@example.com"])
    assert receipt.accepted == ("x@example.com",)
    assert receipt.refused == (
        RecipientRefusal("gone@example.com", 550, "5.1.1 <gone@example.com>: user unknown"),
    )
    [arrived] = await icloud.wait_for_messages(1)
    assert arrived.rcpt_tos == ["x@example.com"]


async def test_a_login_answered_too_late_is_said_as_such(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    icloud.auth_delay = 2
    smtp = account(icloud)
    with pytest.raises(SendFailure) as caught:
        await mailer_send(ca, smtp, ["x@example.com"], wait=0.5)
    failed = caught.value
    assert (failed.stage, failed.symptom) == (Stage.LOGIN, Symptom.SLOW_LOGIN)
    text = advice_text(failed, smtp)
    assert "did not answer the login in time" in text and "no way to log in" not in text


async def test_a_password_echoed_by_the_server_is_redacted(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    wrong = "wxyz-wxyz-wxyz-wxyz"
    plain = base64.b64encode(f"\0{JANE_LOGIN}\0{wrong}".encode()).decode()
    icloud.auth_failure_reply = f"535 5.7.8 password {wrong} ({plain}) rejected"
    failed = await failure(ca, account(icloud, password=wrong))
    assert wrong not in failed.text and plain not in failed.text
    assert failed.text == "5.7.8 password [password] ([password]) rejected"


async def test_a_server_that_is_not_smtp_is_named_as_such(ca: trustme.CA) -> None:
    async def imap(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(imap, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    smtp = SmtpAccount(
        host="smtp.mail.me.com",
        port=port,
        security=Security.STARTTLS,
        username=JANE_LOGIN,
        password=ASP,
    )
    try:
        failed = await failure(ca, smtp)
    finally:
        server.close()
        await server.wait_closed()
    assert (failed.stage, failed.symptom) == (Stage.CONNECT, Symptom.NOT_SMTP)
    text = advice_text(failed, smtp)
    assert "is not an SMTP submission server" in text and "smtp.mail.me.com, port 587" in text
    assert "Could not reach" not in text


async def test_a_refused_connection_is_said_in_words(ca: trustme.CA) -> None:
    smtp = SmtpAccount(
        host="smtp.mail.me.com",
        port=1,
        security=Security.STARTTLS,
        username=JANE_LOGIN,
        password=ASP,
    )
    failed = await failure(ca, smtp)
    assert failed.symptom is Symptom.REFUSED
    assert failed.text == "the connection was refused: nothing answers on that port"
    assert "Connect call failed" not in advice_text(failed, smtp)


def test_the_ehlo_name_is_fully_qualified_or_an_address_literal() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        name = ehlo_name(sock)
    assert (name == socket.getfqdn() and "." in name) or name == "[127.0.0.1]"


def words(failed: SendFailure, **target: Any) -> str:
    advice = for_send_failure(failed, Target(ICLOUD, "smtp.example.com", 587, **target))
    return " ".join((advice.headline, advice.detail, *advice.fixes))


def test_a_rejected_helo_name_is_not_blamed_on_the_recipients() -> None:
    text = words(
        SendFailure(
            stage=Stage.HELO,
            code=504,
            transient=False,
            text="5.5.2 <vm>: Helo command rejected: need fully-qualified hostname",
        )
    )
    assert "Greeting the server (EHLO) failed" in text and "fully qualified" in text
    assert "To addresses" not in text


@pytest.mark.parametrize("whole_thread", [True, False])
def test_a_message_too_big_is_worded_for_size_and_for_what_was_sent(whole_thread: bool) -> None:
    failed = SendFailure(
        stage=Stage.MESSAGE,
        code=552,
        transient=False,
        text="5.3.4 Message size exceeds fixed limit",
    )
    text = words(failed, whole_thread=whole_thread, size_limit=10_240_000)
    assert "Sending the message failed" in text
    assert "smtp.example.com accepts at most 10 MB per email" in text
    assert ("Send only this message" in text) is whole_thread
    assert "Sender (From)" not in text


@pytest.mark.parametrize(("is_test", "retried"), [(True, False), (False, True)])
def test_a_temporary_refusal_says_whether_it_is_retried(is_test: bool, retried: bool) -> None:
    failed = SendFailure(
        stage=Stage.RECIPIENTS,
        code=450,
        transient=True,
        text="4.2.0 <x@example.com>: Recipient address rejected: Greylisted",
    )
    text = words(failed, is_test=is_test, retried=retried)
    assert ("it will be retried" in text) is retried
    assert ("A test is not retried" in text) is is_test


async def test_the_rendered_bytes_arrive_as_they_are(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    """What the renderer measured against the size limit is what the server gets."""
    message = email()
    data = message.as_bytes(policy=SMTP)  # as the renderer flattens: CRLF line ends
    mailer = Mailer(guard=GUARD, timeout=5, tls_context=trusting(ca))
    connection = await mailer.open(account(icloud))
    try:
        await connection.send(message, sender=JANE_LOGIN, recipients=["x@example.com"], data=data)
    finally:
        await connection.close()
    [arrived] = await icloud.wait_for_messages(1)
    assert arrived.raw == data and arrived.rcpt_tos == ["x@example.com"]


async def test_a_utf8_local_part_is_sent_with_smtputf8(
    ca: trustme.CA, icloud: ICloudLikeServer
) -> None:
    message = email()
    mailer = Mailer(guard=GUARD, timeout=5, tls_context=trusting(ca))
    connection = await mailer.open(account(icloud))
    try:
        receipt = await connection.send(
            message, sender=JANE_LOGIN, recipients=["zoë@example.com"], data=message.as_bytes()
        )
    finally:
        await connection.close()
    [arrived] = await icloud.wait_for_messages(1)
    assert receipt.accepted == ("zoë@example.com",) and arrived.rcpt_tos == ["zoë@example.com"]
    assert "SMTPUTF8" in arrived.mail_options
