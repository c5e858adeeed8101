"""Tests of the iCloud-like SMTP server in tests/support/icloud_smtpd.py (client: aiosmtplib)."""

from __future__ import annotations

import base64
import re
import ssl
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
import trustme

from tests.support.icloud_smtpd import Account, ICloudLikeServer

LOGIN = "Emily.Parker@icloud.com"
ASP = "dksi-umcn-pqcz-kdit"
APPLE_ID_PASSWORD = "CorrectHorse-1"
ALIAS = "emily@parker.example"
REVOKED = "old.account@me.com"

EHLO_BEFORE_TLS = [
    "smtp.mail.me.com",
    "PIPELINING",
    "SIZE 28319744",
    "ETRN",
    "STARTTLS",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
]
EHLO_AFTER_TLS = [line if line != "STARTTLS" else "AUTH LOGIN PLAIN" for line in EHLO_BEFORE_TLS]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls(ca: trustme.CA) -> Iterator[ssl.SSLContext]:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    yield ctx


@pytest.fixture
async def srv(ca: trustme.CA) -> AsyncIterator[ICloudLikeServer]:
    accounts = [
        Account(LOGIN, ASP, senders={ALIAS}, apple_id_passwords={APPLE_ID_PASSWORD}),
        Account(REVOKED, "abcd-efgh-ijkl-mnop", revoked=True),
    ]
    async with ICloudLikeServer(ca=ca, accounts=accounts) as server:
        yield server


def client(srv: ICloudLikeServer, tls: ssl.SSLContext, **kw: Any) -> aiosmtplib.SMTP:
    """STARTTLS on the submission port unless told otherwise."""
    kw.setdefault("port", srv.submission_port)
    kw.setdefault("start_tls", True)
    return aiosmtplib.SMTP(hostname=srv.host, tls_context=tls, timeout=5, **kw)


def mail(sender: str = LOGIN, to: str = "someone@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Emily Parker <{sender}>"
    msg["To"] = to
    msg["Subject"] = "Thread from #général"
    msg.set_content("Hello from Slack ✉️\n")
    return msg


def b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


async def test_ehlo_lists_before_and_after_starttls(
    srv: ICloudLikeServer, tls: ssl.SSLContext
) -> None:
    async with client(srv, tls, start_tls=False) as smtp:
        assert (await smtp.noop()).message == "2.0.0 Ok"  # allowed before TLS
        before = await smtp.ehlo()
        assert before.message.splitlines() == EHLO_BEFORE_TLS
        assert "auth" not in smtp.esmtp_extensions
        assert (await smtp.starttls()).message == "2.0.0 Ready to start TLS"
        # The session is reset by STARTTLS: MAIL before a new EHLO is refused.
        assert (await smtp.execute_command(b"MAIL", b"FROM:<" + LOGIN.encode() + b">")).code == 503
        after = await smtp.ehlo()
        assert after.message.splitlines() == EHLO_AFTER_TLS
        assert (await smtp.execute_command(b"AUTH", b"CRAM-MD5")).code == 504
        assert smtp.server_auth_methods == ["login", "plain"]
        assert (await smtp.quit()).message == "2.0.0 Bye"


async def test_greeting_text(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    smtp = client(srv, tls, start_tls=False)
    response = await smtp.connect()
    assert (response.code, response.message) == (220, "smtp.mail.me.com ESMTP")
    smtp.close()


@pytest.mark.parametrize(
    "command",
    [b"MAIL FROM:<x@icloud.com>", b"RCPT TO:<x@example.com>", b"DATA", b"AUTH PLAIN",
     b"AUTH LOGIN", b"VRFY x", b"EXPN x", b"ETRN example.com"],
)  # fmt: skip
async def test_starttls_required_first(
    srv: ICloudLikeServer, tls: ssl.SSLContext, command: bytes
) -> None:
    async with client(srv, tls, start_tls=False) as smtp:
        await smtp.ehlo()
        response = await smtp.execute_command(*command.split(b" ", 1))
        assert (response.code, response.message) == (
            530,
            "5.7.0 Must issue a STARTTLS command first",
        )
        assert (await smtp.rset()).code == 250
        assert (await smtp.helo()).code == 250
        with pytest.raises(aiosmtplib.SMTPException, match="TLS"):
            await smtp.login(LOGIN, ASP)  # no AUTH advertised: no credentials go out
    assert srv.auth_attempts == []


async def test_good_asp_is_accepted_and_message_recorded(
    srv: ICloudLikeServer, tls: ssl.SSLContext
) -> None:
    async with client(srv, tls) as smtp:
        assert (await smtp.login(LOGIN.lower(), ASP)).message == "2.7.0 Authentication successful"
        errors, reply = await smtp.send_message(mail(), recipients=["a@example.com", "b@x.org"])
    assert errors == {}
    assert re.fullmatch(r"2\.0\.0 Ok: queued as [0-9A-F]{11}", reply)
    [received] = await srv.wait_for_messages(1)
    assert received.login == LOGIN
    assert received.envelope_from == LOGIN
    assert received.rcpt_tos == ["a@example.com", "b@x.org"]
    assert received.message["Subject"] == "Thread from #général"
    assert received.message.get_content().rstrip() == "Hello from Slack ✉️"
    assert received.raw.startswith(b"From: Emily Parker <")
    assert srv.auth_attempts == [(LOGIN.lower(), "PLAIN", True)]
    assert srv.connections == 1


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ([b"AUTH PLAIN " + b64(f"\0{LOGIN}\0{ASP}")], []),
        ([b"AUTH PLAIN"], [b64(f"\0{LOGIN}\0{ASP}")]),
        ([b"AUTH LOGIN " + b64(LOGIN)], [b64(ASP)]),
        ([b"AUTH LOGIN"], [b64(LOGIN), b64(ASP)]),
    ],
    ids=["plain-initial", "plain-challenge", "login-initial", "login-challenge"],
)
async def test_auth_mechanisms(
    srv: ICloudLikeServer, tls: ssl.SSLContext, first: list[bytes], then: list[bytes]
) -> None:
    async with client(srv, tls) as smtp:
        await smtp.ehlo()
        response = await smtp.execute_command(*first[0].split(b" "))
        for line in then:
            assert response.code == 334
            if first == [b"AUTH PLAIN"]:
                assert response.message == ""  # empty challenge
            response = await smtp.execute_command(line)
        assert (response.code, response.message) == (235, "2.7.0 Authentication successful")
        again = await smtp.execute_command(b"AUTH", b"PLAIN", b64(f"\0{LOGIN}\0{ASP}"))
        assert (again.code, again.message) == (503, "5.5.1 Error: already authenticated")


@pytest.mark.parametrize(
    ("login", "password"),
    [
        (LOGIN, APPLE_ID_PASSWORD),
        (LOGIN, "dksi-umcn-pqcz-kdix"),
        (LOGIN, ASP.replace("-", "")),
        (LOGIN, ASP.upper()),
        ("emily.parker", ASP),  # local part only
        (REVOKED, "abcd-efgh-ijkl-mnop"),
    ],
    ids=["apple-id-password", "wrong-asp", "no-hyphens", "upper-case", "local-part", "revoked"],
)
async def test_bad_credentials_get_535(
    srv: ICloudLikeServer, tls: ssl.SSLContext, login: str, password: str
) -> None:
    async with client(srv, tls) as smtp:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as exc_info:
            await smtp.login(login, password)
        assert exc_info.value.code == 535
        assert exc_info.value.message.startswith("5.7.8 ")
        assert (await smtp.noop()).code == 250  # the session stays open
    assert 1 <= len(srv.auth_attempts) <= 2
    assert {(who, ok) for who, _, ok in srv.auth_attempts} == {(login, False)}
    assert {mech for _, mech, _ in srv.auth_attempts} <= {"PLAIN", "LOGIN"}


async def test_asp_without_hyphens_when_allowed(ca: trustme.CA, tls: ssl.SSLContext) -> None:
    async with (
        ICloudLikeServer(
            ca=ca, accounts=[Account(LOGIN, ASP)], accept_asp_without_hyphens=True
        ) as srv,
        client(srv, tls) as smtp,
    ):
        assert (await smtp.login(LOGIN, ASP.replace("-", ""))).code == 235


async def test_sender_checks(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    async with client(srv, tls, username=LOGIN, password=ASP) as smtp:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as exc_info:
            await smtp.send_message(mail(sender="nobody@example.com"))
        assert exc_info.value.code == 550
        assert exc_info.value.message == "5.7.0 From address is not one of your addresses"
        await smtp.send_message(mail(sender=ALIAS.upper()))  # aliases, case-insensitively
    [received] = await srv.wait_for_messages(1)
    assert received.envelope_from == ALIAS.upper()


async def test_mail_before_auth_is_refused(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    async with client(srv, tls) as smtp:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as exc_info:
            await smtp.sendmail(LOGIN, ["a@example.com"], b"Subject: x\r\n\r\nx\r\n")
    assert (exc_info.value.code, exc_info.value.message) == (530, "5.7.0 Authentication required")


async def test_header_from_check(ca: trustme.CA, tls: ssl.SSLContext) -> None:
    async with ICloudLikeServer(
        ca=ca, accounts=[Account(LOGIN, ASP)], check_header_from=True
    ) as srv:
        async with client(srv, tls, username=LOGIN, password=ASP) as smtp:
            with pytest.raises(aiosmtplib.SMTPDataError) as exc_info:
                await smtp.send_message(mail(sender="other@example.com"), sender=LOGIN)
            assert exc_info.value.code == 550
            await smtp.send_message(mail())
        assert len(await srv.wait_for_messages(1)) == 1


async def test_too_many_recipients(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    async with client(srv, tls, username=LOGIN, password=ASP) as smtp:
        await smtp.mail(LOGIN)
        for n in range(500):
            await smtp.rcpt(f"r{n}@example.com")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as exc_info:
            await smtp.rcpt("r500@example.com")
        assert exc_info.value.code == 452


async def test_implicit_tls_listener(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    async with client(srv, tls, port=srv.smtps_port, use_tls=True, start_tls=None) as smtp:
        assert (await smtp.ehlo()).message.splitlines() == EHLO_AFTER_TLS
        assert (await smtp.execute_command(b"STARTTLS")).code == 554
        await smtp.login(LOGIN, ASP)
        await smtp.send_message(mail())
    [received] = await srv.wait_for_messages(1)
    assert received.login == LOGIN


async def test_down_and_greeting_failures(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    srv.down = True
    for port, use_tls in [(srv.submission_port, False), (srv.smtps_port, True)]:
        with pytest.raises(aiosmtplib.SMTPConnectResponseError) as exc_info:
            await client(srv, tls, port=port, use_tls=use_tls, start_tls=None).connect()
        assert (exc_info.value.code, exc_info.value.message) == (421, "4.3.2 Service not available")
    srv.down = False
    srv.greeting_failures = 1
    with pytest.raises(aiosmtplib.SMTPConnectResponseError):
        await client(srv, tls).connect()
    async with client(srv, tls) as smtp:
        assert (await smtp.noop()).code == 250
    assert srv.connections == 4


async def test_temp_fail_data_then_success(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    srv.temp_fail_data = 1
    async with client(srv, tls, username=LOGIN, password=ASP) as smtp:
        with pytest.raises(aiosmtplib.SMTPDataError) as exc_info:
            await smtp.send_message(mail())
        assert exc_info.value.code == 451
        assert srv.received == []
        await smtp.send_message(mail())
    assert len(await srv.wait_for_messages(1)) == 1


@pytest.mark.parametrize("implicit_tls", [False, True])
async def test_drop_during_data(
    srv: ICloudLikeServer, tls: ssl.SSLContext, implicit_tls: bool
) -> None:
    srv.drop_during_data = 1
    kw: dict[str, Any] = {"username": LOGIN, "password": ASP}
    if implicit_tls:
        kw |= {"port": srv.smtps_port, "use_tls": True, "start_tls": None}
    smtp = client(srv, tls, **kw)
    await smtp.connect()
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await smtp.send_message(mail())
    assert not smtp.is_connected
    assert srv.received == []
    async with client(srv, tls, **kw) as smtp:
        await smtp.send_message(mail())
    assert len(await srv.wait_for_messages(1)) == 1


async def test_starttls_stripped(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    srv.offer_starttls = False
    with pytest.raises(aiosmtplib.SMTPException, match="STARTTLS extension not supported"):
        await client(srv, tls, username=LOGIN, password=ASP).connect()
    async with client(srv, tls, start_tls=None) as smtp:
        assert "starttls" not in smtp.esmtp_extensions
        assert (await smtp.execute_command(b"STARTTLS")).code == 502
        with pytest.raises(aiosmtplib.SMTPException, match="TLS"):
            await smtp.login(LOGIN, ASP)
        response = await smtp.execute_command(b"AUTH", b"PLAIN", b64(f"\0{LOGIN}\0{ASP}"))
        assert response.code == 530  # plaintext AUTH is never accepted
    assert srv.auth_attempts == []


async def test_mail_from_reply_and_daily_cap(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    async with client(srv, tls, username=LOGIN, password=ASP) as smtp:
        srv.mail_from_reply = (550, "5.7.1 User has no permission to send mail through this server")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as exc_info:
            await smtp.send_message(mail())
        assert exc_info.value.code == 550
        srv.mail_from_reply = None
        srv.daily_cap = 1
        await smtp.send_message(mail())
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as exc_info:
            await smtp.send_message(mail())
        assert exc_info.value.message == (
            f"5.7.1 {LOGIN}: You have exceeded your daily sending limit. Please try again later."
        )
    assert len(srv.received) == 1


async def test_wait_for_messages_times_out(srv: ICloudLikeServer) -> None:
    with pytest.raises(TimeoutError, match="expected 1 message"):
        await srv.wait_for_messages(1, timeout=0.05)


def test_asp_format_is_enforced() -> None:
    with pytest.raises(ValueError, match="app-specific"):
        Account(LOGIN, "Dksi-umcn-pqcz-kdit")


async def test_over_size_limit(srv: ICloudLikeServer, tls: ssl.SSLContext) -> None:
    body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 28400  # > 28319744 bytes
    async with client(srv, tls, username=LOGIN, password=ASP) as smtp:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await smtp.sendmail(LOGIN, ["a@example.com"], body)  # aiosmtplib sends SIZE=
        assert (refused.value.code, refused.value.message) == (
            552,
            "5.3.4 Message size exceeds fixed limit",
        )
        await smtp.rset()
        await smtp.mail(LOGIN)  # no SIZE= this time: refused after DATA
        await smtp.rcpt("a@example.com")
        with pytest.raises(aiosmtplib.SMTPDataError) as too_big:
            await smtp.data(body)
        assert too_big.value.code == 552
        await smtp.sendmail(LOGIN, ["a@example.com"], b"Subject: small\r\n\r\nok\r\n")
    assert [m.message["Subject"] for m in srv.received] == ["small"]


@pytest.mark.parametrize("implicit_tls", [False, True])
async def test_certificate_is_checked_against_the_test_ca(
    srv: ICloudLikeServer, implicit_tls: bool
) -> None:
    other = ssl.create_default_context()
    trustme.CA().configure_trust(other)  # a CA that did not issue the server's certificate
    port = srv.smtps_port if implicit_tls else srv.submission_port
    smtp = client(srv, other, port=port, use_tls=implicit_tls, start_tls=not implicit_tls)
    # STARTTLS raises the ssl error itself; implicit TLS wraps it in SMTPConnectError.
    with pytest.raises((ssl.SSLCertVerificationError, aiosmtplib.SMTPConnectError)) as exc_info:
        await smtp.connect()
    assert "CERTIFICATE_VERIFY_FAILED" in str(exc_info.value)
    assert not smtp.is_connected
