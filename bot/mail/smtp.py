"""One SMTP exchange at a time, each failure pinned to the stage where it happened.

Connections go only to addresses the :class:`~bot.hostguard.HostGuard` vetted (we open
the socket ourselves and hand it to aiosmtplib); certificates are verified against the
system trust store (``SSL_CERT_FILE`` honoured); credentials never cross an unencrypted
connection unless the user chose Security "None".

What the server says decides the stage a failure is reported at, not the command it came
back on: Postfix answers a sender-login mismatch, a rejected HELO name and "STARTTLS
first" at RCPT or MAIL time, and each needs its own advice. Server texts are redacted of
the password (and its base64 AUTH forms) before anything keeps them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from bot.errors import SendFailure, Stage, Symptom
from bot.hostguard import HostGuard, IPAddress, parse_ip
from bot.render.headers import ascii_address
from storage.models import Security

TlsContextFactory = Callable[[], ssl.SSLContext]


@dataclass(frozen=True)
class SmtpAccount:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RecipientRefusal:
    """One recipient the server refused while it accepted others."""

    recipient: str
    code: int
    text: str


@dataclass(frozen=True)
class SendReceipt:
    """What the server accepted: every recipient but those in ``refused``."""

    accepted: tuple[str, ...]
    refused: tuple[RecipientRefusal, ...]
    reply: str


class SmtpConnection:
    """An open, authenticated SMTP session; reuse it for back-to-back sends."""

    def __init__(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        self._client = client
        self.account = account

    @property
    def is_open(self) -> bool:
        return self._client.is_connected

    @property
    def size_limit(self) -> int | None:
        """The largest message the server takes, as its EHLO ``SIZE`` says (None: unsaid)."""
        value = self._client.esmtp_extensions.get("size", "")
        return int(value) if value.isdigit() and int(value) > 0 else None

    async def send(
        self,
        message: EmailMessage,
        *,
        sender: str,
        recipients: Sequence[str],
        data: bytes | None = None,
    ) -> SendReceipt:
        """Send one message; a refusal of *some* recipients comes back in the receipt.

        ``data``: the message already flattened by the renderer (``as_bytes()``: 7-bit,
        CRLF), sent as is; flattening it again cost ~10% of a delivery (BENCHMARKS.md)."""
        # The envelope carries internationalised domains in their IDNA form, as DNS does.
        envelope_sender = ascii_address(sender)
        envelope_recipients = [ascii_address(r) for r in recipients]
        ascii_envelope = envelope_sender.isascii() and all(r.isascii() for r in envelope_recipients)
        try:
            if data is not None and ascii_envelope:
                errors, reply = await self._client.sendmail(
                    envelope_sender, envelope_recipients, data
                )
            else:  # a UTF-8 local part: aiosmtplib flattens for SMTPUTF8 and asks for it
                errors, reply = await self._client.send_message(
                    message, sender=envelope_sender, recipients=envelope_recipients
                )
        except aiosmtplib.SMTPSenderRefused as error:
            raise _failure(Stage.SENDER, error, self.account) from None
        except aiosmtplib.SMTPRecipientsRefused as error:
            first = error.recipients[0] if error.recipients else error
            raise _failure(Stage.RECIPIENTS, first, self.account) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _failure(Stage.MESSAGE, error, self.account) from None
        refused = tuple(
            RecipientRefusal(
                recipient, response.code, _redact(response.message.strip(), self.account)
            )
            for recipient, response in errors.items()
        )  # as the envelope named them
        accepted = tuple(r for r in recipients if ascii_address(r) not in errors)
        return SendReceipt(accepted=accepted, refused=refused, reply=reply)

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
            local_hostname=ehlo_name(sock),
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
        symptom, text = _describe_os_error(last, self._timeout)
        raise SendFailure(
            stage=Stage.CONNECT, code=None, text=text, transient=True, symptom=symptom
        )

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
            raise OSError(errno.ETIMEDOUT, "timed out") from None
        except BaseException:
            sock.close()
            raise
        return sock

    async def _greet(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        stage = Stage.TLS if account.security is Security.SSL else Stage.CONNECT
        try:
            await client.connect()
        except aiosmtplib.SMTPConnectTimeoutError:
            if account.security is Security.SSL:
                raise SendFailure(
                    stage=Stage.TLS,
                    code=None,
                    transient=True,
                    symptom=Symptom.TIMED_OUT,
                    text="the secure connection got no answer in time",
                ) from None
            raise SendFailure(  # a port that expects TLS from the first byte stays silent
                stage=Stage.CONNECT,
                code=None,
                transient=False,
                symptom=Symptom.SILENT,
                text=f"the server accepted the connection but sent no greeting within "
                f"{self._timeout:g} s",
            ) from None
        except aiosmtplib.SMTPResponseException as error:
            if error.code < 0:  # not a reply line at all: IMAP's "* OK", HTTP, …
                raise SendFailure(
                    stage=Stage.CONNECT,
                    code=None,
                    transient=False,
                    symptom=Symptom.NOT_SMTP,
                    text=f"it greeted with {_first_line(error.message)!r}",
                ) from None
            raise _tls_or(stage, error, account) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _tls_or(stage, error, account) from None

    async def _secure(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        if account.security is not Security.STARTTLS:
            return
        try:
            await client.ehlo()
            if not client.supports_extension("starttls"):
                raise SendFailure(
                    stage=Stage.TLS,
                    code=None,
                    transient=False,
                    text="the server did not offer STARTTLS, so the password was not sent",
                )
            await client.starttls()
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _tls_or(Stage.TLS, error, account) from None

    async def _login(self, client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
        try:
            await client.ehlo()
            if not client.supports_extension("auth"):
                if account.security is Security.NONE:
                    return  # a local relay that needs no login
                raise SendFailure(
                    stage=Stage.LOGIN,
                    code=None,
                    transient=False,
                    symptom=Symptom.NO_AUTH,
                    text="the server offered no way to log in",
                )
            await _authenticate_once(client, account)
        except aiosmtplib.SMTPTimeoutError:
            raise SendFailure(
                stage=Stage.LOGIN,
                code=None,
                transient=True,
                symptom=Symptom.SLOW_LOGIN,
                text=f"the login got no answer within {self._timeout:g} s",
            ) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _failure(Stage.LOGIN, error, account) from None


async def _authenticate_once(client: aiosmtplib.SMTP, account: SmtpAccount) -> None:
    """One attempt with the best mechanism offered.

    aiosmtplib's ``login`` tries every mechanism in turn after a refusal: a wrong
    password would count twice against accounts that lock after repeated failures.
    """
    methods = client.supported_auth_methods
    if not methods:
        raise SendFailure(
            stage=Stage.LOGIN,
            code=None,
            transient=False,
            symptom=Symptom.NO_AUTH,
            text="the server offered no login method we support",
        )
    method = getattr(client, f"auth_{methods[0].replace('-', '')}")
    await method(account.username, account.password)


def ehlo_name(sock: socket.socket) -> str:
    """The name we greet with: the machine's FQDN, else our address as a literal.

    Servers reject a bare host name (Postfix's reject_non_fqdn_helo_hostname); mail
    clients then send the address literal, as we do.
    """
    fqdn = socket.getfqdn()
    if "." in fqdn and not fqdn.endswith((".localdomain", ".local", ".internal")):
        return fqdn
    address = str(sock.getsockname()[0])
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _ip(text: str) -> IPAddress:
    address = parse_ip(text)
    if address is None:
        raise OSError(f"unexpected peer address {text!r}")
    return address


def _failure(stage: Stage, error: BaseException, account: SmtpAccount) -> SendFailure:
    code = getattr(error, "code", None)
    code = code if isinstance(code, int) and code > 0 else None
    text = str(getattr(error, "message", "") or error) or type(error).__name__
    text = _redact(text.strip(), account)
    # Postfix defers relay denial (454) for its own operator's sake; for us it is final.
    transient = (code is None or 400 <= code < 500) and "relay access denied" not in text.lower()
    return SendFailure(
        stage=_stage_by_reply(stage, code, text), code=code, text=text, transient=transient
    )


def _stage_by_reply(stage: Stage, code: int | None, text: str) -> Stage:
    """The stage the reply is about, whatever command it answered."""
    lowered = text.lower()
    if code is None:
        return stage
    if "starttls" in lowered or (code == 530 and "tls" in lowered):
        return Stage.TLS
    if "helo command rejected" in lowered or ("ehlo" in lowered and "rejected" in lowered):
        return Stage.HELO
    if "sender address rejected" in lowered and stage is Stage.RECIPIENTS:
        return Stage.SENDER
    if code == 552 or "size exceeds" in lowered or "too big" in lowered:
        return Stage.MESSAGE
    return stage


def _redact(text: str, account: SmtpAccount) -> str:
    """A hostile or broken server may echo the password: never keep it."""
    secret = account.password
    if not secret:
        return text
    forms = {secret}
    for raw in (secret, f"\0{account.username}\0{secret}"):
        encoded = base64.b64encode(raw.encode()).decode()
        forms |= {encoded, encoded.rstrip("=")}
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= 4:
            text = text.replace(form, "[password]")
    return text


def _first_line(text: str) -> str:
    line = text.removeprefix("Malformed SMTP response line:").strip().splitlines()
    return (line[0] if line else "")[:80]


def _tls_or(stage: Stage, error: BaseException, account: SmtpAccount) -> SendFailure:
    """A TLS failure when TLS is what broke (directly or underneath aiosmtplib's error)."""
    for candidate in (error, error.__cause__, error.__context__):
        if isinstance(candidate, ssl.SSLError):
            return _tls_failure(candidate)
    return _failure(stage, error, account)


def _tls_failure(error: ssl.SSLError) -> SendFailure:
    verify = isinstance(error, ssl.SSLCertVerificationError)
    text = (
        error.verify_message
        if isinstance(error, ssl.SSLCertVerificationError)
        else (error.reason or str(error))
    )
    return SendFailure(stage=Stage.TLS, code=None, text=f"TLS failed: {text}", transient=not verify)


_OS_SYMPTOMS = {
    errno.ECONNREFUSED: (
        Symptom.REFUSED,
        "the connection was refused: nothing answers on that port",
    ),
    errno.ETIMEDOUT: (Symptom.TIMED_OUT, "no answer within {timeout:g} s"),
    errno.ENETUNREACH: (Symptom.UNREACHABLE, "the network is unreachable from the bot"),
    errno.EHOSTUNREACH: (Symptom.UNREACHABLE, "the host is unreachable from the bot"),
    errno.ECONNRESET: (Symptom.OTHER, "the server closed the connection at once"),
}


def _describe_os_error(error: OSError | None, timeout: float) -> tuple[Symptom, str]:
    """Words for a failed connect (never Python's "Connect call failed (…)")."""
    if error is None:
        return Symptom.OTHER, "no address to connect to"
    symptom, text = _OS_SYMPTOMS.get(error.errno or 0, (Symptom.OTHER, "the connection failed"))
    return symptom, text.format(timeout=timeout)
