"""One SMTP exchange at a time, each failure pinned to the stage where it happened.

Connections go only to addresses the :class:`~bot.hostguard.HostGuard` vetted (we open
the socket ourselves and hand it to aiosmtplib); certificates are verified against the
system trust store (``SSL_CERT_FILE`` honoured); credentials never cross an unencrypted
connection unless the user chose Security "None".
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from bot.errors import SendFailure, Stage
from bot.hostguard import HostGuard, IPAddress, parse_ip
from storage.models import Security

TlsContextFactory = Callable[[], ssl.SSLContext]


@dataclass(frozen=True)
class SmtpAccount:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)


class SmtpConnection:
    """An open, authenticated SMTP session; reuse it for back-to-back sends."""

    def __init__(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        self._client = client
        self.account = account

    @property
    def is_open(self) -> bool:
        return self._client.is_connected

    async def send(self, message: EmailMessage, *, sender: str, recipients: Sequence[str]) -> str:
        """Send one message; returns the server's final reply text."""
        try:
            _errors, reply = await self._client.send_message(
                message, sender=sender, recipients=list(recipients)
            )
        except aiosmtplib.SMTPSenderRefused as error:
            raise _failure(Stage.SENDER, error) from None
        except aiosmtplib.SMTPRecipientsRefused as error:
            first = error.recipients[0] if error.recipients else error
            raise _failure(Stage.RECIPIENTS, first) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _failure(Stage.MESSAGE, error) from None
        return reply

    async def close(self) -> None:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            if self._client.is_connected:
                await self._client.quit()
        self._client.close()


class Mailer:
    """Opens SMTP connections for destinations."""

    def __init__(
        self,
        *,
        guard: HostGuard,
        timeout: float,
        tls_context: TlsContextFactory = ssl.create_default_context,
    ) -> None:
        self._guard = guard
        self._timeout = timeout
        self._tls_context = tls_context

    async def open(self, account: SmtpAccount) -> SmtpConnection:
        """Connect, secure and log in; raises :class:`SendFailure` naming the stage."""
        sock = await self._connect(account)
        client = aiosmtplib.SMTP(
            hostname=account.host,
            sock=sock,
            use_tls=account.security is Security.SSL,
            start_tls=False,
            tls_context=self._tls_context(),
            timeout=self._timeout,
            local_hostname=socket.gethostname() or "localhost",
        )
        connection = SmtpConnection(client, account)
        try:
            await self._greet(client, account)
            await self._secure(client, account)
            await self._login(client, account)
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _connect(self, account: SmtpAccount) -> socket.socket:
        addresses = await self._guard.resolve(account.host, account.port)
        last: OSError | None = None
        for address in addresses:
            try:
                return await self._open_socket(account, address)
            except OSError as error:
                last = error
        text = _describe_os_error(last) if last else "no address to connect to"
        raise SendFailure(stage=Stage.CONNECT, code=None, text=text, transient=True)

    async def _open_socket(self, account: SmtpAccount, address: IPAddress) -> socket.socket:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(
                loop.sock_connect(sock, (str(address), account.port)), self._timeout
            )
            # Check the address actually connected to, not only the name typed.
            peer = sock.getpeername()[0]
            self._guard.check(account.host, _ip(peer))
        except TimeoutError:
            sock.close()
            raise OSError("timed out") from None
        except BaseException:
            sock.close()
            raise
        return sock

    async def _greet(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        stage = Stage.TLS if account.security is Security.SSL else Stage.CONNECT
        try:
            await client.connect()
        except aiosmtplib.SMTPConnectResponseError as error:
            raise _failure(Stage.CONNECT, error) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _tls_or(stage, error) from None

    async def _secure(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        if account.security is not Security.STARTTLS:
            return
        try:
            await client.ehlo()
            if not client.supports_extension("starttls"):
                raise SendFailure(
                    stage=Stage.TLS, code=None, transient=False,
                    text="the server did not offer STARTTLS, so the password was not sent",
                )
            await client.starttls()
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _tls_or(Stage.TLS, error) from None

    async def _login(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        try:
            await client.ehlo()
            if account.security is Security.NONE and not client.supports_extension("auth"):
                return  # a local relay that needs no login
            await client.login(account.username, account.password)
        except aiosmtplib.SMTPAuthenticationError as error:
            raise _failure(Stage.LOGIN, error) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _failure(Stage.LOGIN, error) from None


def _ip(text: str) -> IPAddress:
    address = parse_ip(text)
    if address is None:
        raise OSError(f"unexpected peer address {text!r}")
    return address


def _failure(stage: Stage, error: BaseException) -> SendFailure:
    code = getattr(error, "code", None)
    code = code if isinstance(code, int) and code > 0 else None
    text = str(getattr(error, "message", "") or error) or type(error).__name__
    transient = code is None or 400 <= code < 500
    return SendFailure(stage=stage, code=code, text=text.strip(), transient=transient)


def _tls_or(stage: Stage, error: BaseException) -> SendFailure:
    """A TLS failure when TLS is what broke (directly or underneath aiosmtplib's error)."""
    for candidate in (error, error.__cause__, error.__context__):
        if isinstance(candidate, ssl.SSLError):
            return _tls_failure(candidate)
    return _failure(stage, error)


def _tls_failure(error: ssl.SSLError) -> SendFailure:
    verify = isinstance(error, ssl.SSLCertVerificationError)
    text = (error.verify_message if isinstance(error, ssl.SSLCertVerificationError)
            else (error.reason or str(error)))
    return SendFailure(
        stage=Stage.TLS, code=None, text=f"TLS failed: {text}", transient=not verify
    )


def _describe_os_error(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
