"""A local SMTP server that imitates iCloud Mail's submission server (smtp.mail.me.com).

It follows section 6 ("iCloud-like" local test server) of
/work/shared/reference/icloud-smtp-facts.md: the real EHLO lists, STARTTLS before anything
else, AUTH PLAIN/LOGIN with app-specific passwords only, the "From address is not one of your
addresses" check at MAIL FROM, Postfix-style reply texts, plus fault knobs for tests.
Reply *codes* are what matter; texts marked (pg) in the reference are plausible guesses.

It runs on the test's own event loop (no threads): two ``loop.create_server`` listeners on
127.0.0.1 with OS-assigned ports, one plain + STARTTLS (587-like), one implicit TLS (465-like).
Each connection is an instance of ``_ICloudSMTP``, a small subclass of ``aiosmtpd.smtp.SMTP``.
"""

from __future__ import annotations

import asyncio
import email.policy
import re
import secrets
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from types import TracebackType
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

MAX_SIZE = 28319744  # advertised by iCloud (reference 3.2.2, 3.6.1)
MAX_RECIPIENTS = 500  # per message (reference 2.1)
ASP_RE = re.compile(r"[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}")

NEED_TLS = "530 5.7.0 Must issue a STARTTLS command first"
AUTH_FAILED = "535 5.7.8 Error: authentication failed: authentication failure"
NOT_YOUR_ADDRESS = "550 5.7.0 From address is not one of your addresses"
SERVICE_DOWN = "421 4.3.2 Service not available"
# Commands refused before TLS (reference 6.7). EHLO/HELO/NOOP/RSET/QUIT/STARTTLS stay allowed.
TLS_FIRST = ("MAIL", "RCPT", "DATA", "AUTH", "VRFY", "EXPN", "ETRN")
# aiosmtpd's built-in reply texts, reworded to the Postfix ones iCloud most likely sends.
REWORDED = {
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
    "503 Already authenticated": "503 5.5.1 Error: already authenticated",
    "552 Error: message size exceeds fixed maximum message size": (
        "552 5.3.4 Message size exceeds fixed limit"
    ),
    "552 Error: Too much mail data": "552 5.3.4 Error: message file too big",
}


@dataclass
class Account:
    """One iCloud account. Logins and sender addresses compare case-insensitively."""

    login: str
    asp: str
    senders: set[str] = field(default_factory=set)
    apple_id_passwords: set[str] = field(default_factory=set)
    revoked: bool = False

    def __post_init__(self) -> None:
        if not ASP_RE.fullmatch(self.asp):
            raise ValueError(f"not an app-specific password (xxxx-xxxx-xxxx-xxxx): {self.asp!r}")

    def may_send_as(self, address: str) -> bool:
        return address.lower() in {a.lower() for a in {self.login, *self.senders}}


@dataclass
class ReceivedMessage:
    envelope_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None
    message: EmailMessage
    mail_options: list[str]  # MAIL FROM's parameters: SMTPUTF8, BODY=8BITMIME, SIZE=…


class ICloudLikeServer:
    """Both listeners plus the recorded traffic and the fault knobs (all off by default)."""

    host: str = "127.0.0.1"

    def __init__(
        self,
        *,
        ca: trustme.CA,
        accounts: list[Account],
        hostname: str = "smtp.mail.me.com",
        accept_asp_without_hyphens: bool = False,
        check_header_from: bool = False,
    ) -> None:
        self.hostname = hostname
        self.accept_asp_without_hyphens = accept_asp_without_hyphens
        self.check_header_from = check_header_from
        self._accounts = {a.login.lower(): a for a in accounts}
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(hostname, "localhost", "127.0.0.1").configure_cert(self._tls)

        self.submission_port = 0
        self.smtps_port = 0
        self.received: list[ReceivedMessage] = []
        self.auth_attempts: list[tuple[str, str, bool]] = []
        self.connections = 0

        self.down = False
        self.greeting_failures = 0
        self.offer_starttls = True
        self.temp_fail_data = 0
        self.drop_during_data = 0
        self.mail_from_reply: tuple[int, str] | None = None
        self.auth_failure_reply = AUTH_FAILED  # e.g. another provider's words for a bad login
        self.daily_cap: int | None = None
        self.hold_after_data = False  # record the message, then hold the 250 until release()
        self.rcpt_replies: dict[str, str] = {}  # recipient → the refusal RCPT answers it with
        self.auth_delay = 0.0  # seconds before AUTH is answered (a login penalty)
        self._released = asyncio.Event()

        self._sent: Counter[str] = Counter()  # accepted messages per login (lower-case)
        self._arrived = asyncio.Condition()
        self._servers: list[asyncio.Server] = []
        self._sessions: set[_ICloudSMTP] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for implicit_tls in (False, True):
            server = await loop.create_server(
                lambda tls=implicit_tls: self._new_session(tls),
                self.host,
                0,
                ssl=self._tls if implicit_tls else None,
            )
            self._servers.append(server)
        self.submission_port, self.smtps_port = (
            s.sockets[0].getsockname()[1] for s in self._servers
        )

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        tasks = [s.hang_up() for s in list(self._sessions)]
        await asyncio.gather(*[t for t in tasks if t is not None], return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    async def __aenter__(self) -> ICloudLikeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def wait_for_messages(
        self,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 (part of the public API)
    ) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages were accepted; return them all."""
        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(lambda: len(self.received) >= count)
        except TimeoutError:
            raise TimeoutError(
                f"ICloudLikeServer: expected {count} message(s) within {timeout}s, got "
                f"{len(self.received)}; connections={self.connections}, "
                f"auth_attempts={self.auth_attempts}"
            ) from None
        return list(self.received)

    def release(self) -> None:
        """Let held DATA replies go (see ``hold_after_data``)."""
        self.hold_after_data = False
        self._released.set()

    # -- used by the sessions ----------------------------------------------------------------

    def _new_session(self, implicit_tls: bool) -> _ICloudSMTP:
        self.connections += 1
        session = _ICloudSMTP(self, implicit_tls)
        self._sessions.add(session)
        return session

    def _refuse_connection(self) -> bool:
        if self.greeting_failures > 0:
            self.greeting_failures -= 1
            return True
        return self.down

    def _authenticate(self, mechanism: str, login: str, password: str) -> Account | None:
        account = self._accounts.get(login.lower())
        ok = (
            account is not None
            and not account.revoked
            and password not in account.apple_id_passwords
            and (
                password == account.asp
                or (self.accept_asp_without_hyphens and password == account.asp.replace("-", ""))
            )
        )
        self.auth_attempts.append((login, mechanism.upper(), ok))
        return account if ok else None

    def _mail_from_refusal(self, account: Account, address: str) -> str | None:
        if self.mail_from_reply is not None:
            return "{} {}".format(*self.mail_from_reply)
        if self.daily_cap is not None and self._sent[account.login.lower()] >= self.daily_cap:
            return (
                f"550 5.7.1 {account.login}: You have exceeded your daily sending limit. "
                "Please try again later."
            )
        if not account.may_send_as(address):
            return NOT_YOUR_ADDRESS
        return None

    async def _deliver(self, account: Account, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        if self.check_header_from:
            header_from = getaddresses([str(message.get("From", ""))])
            if not header_from or not all(account.may_send_as(a) for _, a in header_from):
                return NOT_YOUR_ADDRESS
        assert envelope.mail_from is not None
        rcpt_tos = list(envelope.rcpt_tos)
        self.received.append(
            ReceivedMessage(
                envelope.mail_from,
                rcpt_tos,
                raw,
                account.login,
                message,
                list(envelope.mail_options),
            )
        )
        self._sent[account.login.lower()] += 1
        async with self._arrived:
            self._arrived.notify_all()
        return f"250 2.0.0 Ok: queued as {secrets.randbits(44):011X}"


def _account(session: Session) -> Account:
    """The account that authenticated this session (aiosmtpd checked that one did)."""
    assert isinstance(session.auth_data, Account)
    return session.auth_data


class _Hooks:
    """aiosmtpd handler hooks; the state they need lives on the ICloudLikeServer."""

    def __init__(self, srv: ICloudLikeServer) -> None:
        self.srv = srv

    async def handle_EHLO(
        self,
        smtp: _ICloudSMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if smtp.is_tls:
            middle = ["AUTH LOGIN PLAIN"]
        else:
            middle = ["STARTTLS"] if self.srv.offer_starttls else []
        keywords = [
            smtp.hostname,
            "PIPELINING",
            f"SIZE {MAX_SIZE}",
            "ETRN",
            *middle,
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "DSN",
            "SMTPUTF8",
        ]
        return [f"250-{k}" for k in keywords[:-1]] + [f"250 {keywords[-1]}"]

    async def handle_MAIL(
        self,
        smtp: _ICloudSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        refusal = self.srv._mail_from_refusal(_account(session), address)
        if refusal is not None:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self,
        smtp: _ICloudSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Error: too many recipients"
        if address.lower() in self.srv.rcpt_replies:
            return self.srv.rcpt_replies[address.lower()]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, smtp: _ICloudSMTP, session: Session, envelope: Envelope) -> str:
        if self.srv.drop_during_data > 0:
            self.srv.drop_during_data -= 1
            smtp.hang_up()  # no reply ever reaches the client
            return "421 4.4.2 never sent"
        if self.srv.temp_fail_data > 0:
            self.srv.temp_fail_data -= 1
            return "451 4.3.0 Temporary failure, try again later"
        reply = await self.srv._deliver(_account(session), envelope)
        if self.srv.hold_after_data:  # the client may die before it hears the 250
            await self.srv._released.wait()
        return reply

    async def handle_NOOP(self, *_: object) -> str:
        return "250 2.0.0 Ok"

    async def handle_RSET(self, *_: object) -> str:
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, *_: object) -> str:
        return "221 2.0.0 Bye"


class _ICloudSMTP(SMTP):
    """One connection. ``implicit_tls`` marks the 465-like listener (TLS before the greeting)."""

    def __init__(self, srv: ICloudLikeServer, implicit_tls: bool) -> None:
        super().__init__(
            _Hooks(srv),
            hostname=srv.hostname,
            ident="ESMTP",  # greeting "220 smtp.mail.me.com ESMTP"
            data_size_limit=MAX_SIZE,
            enable_SMTPUTF8=True,
            tls_context=None if implicit_tls else srv._tls,
            auth_required=True,  # MAIL before AUTH: "530 5.7.0 Authentication required"
            authenticator=self._check_credentials,
            loop=asyncio.get_running_loop(),
        )
        self._srv = srv
        self._implicit_tls = implicit_tls
        # Our own TLS_FIRST guard refuses AUTH before TLS on both listeners; aiosmtpd's check
        # would also refuse it on the implicit-TLS listener, where it cannot see the TLS.
        self._auth_require_tls = False
        for command in TLS_FIRST:
            self._smtp_methods[command] = self._tls_first(self._smtp_methods[command])

    @property
    def is_tls(self) -> bool:
        return self._implicit_tls or self._tls_protocol is not None

    def _tls_first(
        self, method: Callable[[str | None], Awaitable[None]]
    ) -> Callable[[str | None], Awaitable[None]]:
        async def guarded(arg: str | None) -> None:
            await (method(arg) if self.is_tls else self.push(NEED_TLS))

        return guarded

    def hang_up(self) -> asyncio.Task[None] | None:
        """Drop the TCP connection now, without a reply; return the session task to await."""
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()
        task = self._handler_coroutine
        if task is not None:
            task.cancel()  # as aiosmtpd's own QUIT does; nothing more is read or sent
        return task

    def connection_lost(self, error: Exception | None) -> None:
        self._srv._sessions.discard(self)
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        await super().push(REWORDED.get(status, status) if isinstance(status, str) else status)

    async def _handle_client(self) -> None:
        if self._srv._refuse_connection():
            await self.push(SERVICE_DOWN)
            assert self.transport is not None
            self.transport.close()
            return
        await super()._handle_client()

    def _check_credentials(
        self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = (b.decode("utf-8", "replace") for b in data)
        account = self._srv._authenticate(mechanism, login, password)
        if account is None:
            return AuthResult(success=False, handled=False, message=self._srv.auth_failure_reply)
        return AuthResult(success=True, auth_data=account)

    async def smtp_AUTH(self, arg: str) -> None:
        if self._srv.auth_delay:
            await asyncio.sleep(self._srv.auth_delay)
        await super().smtp_AUTH(arg)

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.is_tls:
            await self.push("554 5.5.1 Error: TLS already active")
        elif not self._srv.offer_starttls:
            await self.push("502 5.5.2 Error: command not recognized")
        else:
            await super().smtp_STARTTLS(arg)

    async def smtp_ETRN(self, arg: str | None) -> None:
        await self.push("458 4.7.0 Unable to queue messages")
