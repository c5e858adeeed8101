"""A real Postfix submission service with Dovecot SASL, on loopback, for tests.

Debian's ``postfix`` and ``dovecot-core`` binaries run as a private instance: their own
configuration, queue and state under a temp folder, a submission listener on a free
127.0.0.1 port with STARTTLS required before AUTH (``smtpd_tls_auth_only``), SASL through
Dovecot's auth socket (a passwd-file of test users), and the checks real servers make:

- ``reject_sender_login_mismatch`` (553 5.7.1 "Sender address rejected: not owned by user"),
- ``reject_non_fqdn_helo_hostname`` (504 5.5.2 "Helo command rejected: need fully-qualified
  hostname"),
- ``message_size_limit`` (advertised as EHLO SIZE; 552 over it),
- recipients of the local domain that do not exist (550 5.1.1 "User unknown"),
- relaying to other domains (454 4.7.1 "Relay access denied"),
- a plain port that requires STARTTLS first (530 5.7.0).

Accepted mail is delivered by Postfix's ``virtual`` agent into one Maildir per mailbox,
which the tests read. Postfix and Dovecot both start as root and drop privileges, so the
tests using this run as root (CI does) and are skipped elsewhere.
"""

from __future__ import annotations

import contextlib
import email.policy
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import trustme

DOMAIN = "mail.postfix.example"
HOSTNAME = "smtp.postfix.example"
POSTFIX = Path("/usr/sbin/postfix")
DOVECOT = Path("/usr/sbin/dovecot")


@dataclass(frozen=True)
class MailUser:
    login: str
    password: str
    senders: tuple[str, ...] = ()  # addresses this login may send as, beside itself


def binaries_missing() -> str | None:
    """Why these tests cannot run here, or None."""
    if not POSTFIX.is_file() or not DOVECOT.is_file():
        return "Postfix and Dovecot are not installed: apt-get install postfix dovecot-core"
    if os.geteuid() != 0:
        return "Postfix and Dovecot start as root; run the tests as root"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostfixServer:
    """``start()`` / ``stop()``; ``submission_port`` (STARTTLS), ``implicit_tls_port``,
    ``mailbox(login)``."""

    def __init__(self, ca: trustme.CA, users: list[MailUser], *, size_limit: int) -> None:
        self.users = users
        self.size_limit = size_limit
        self.root = Path(tempfile.mkdtemp(prefix="xenocept-postfix-"))
        os.chmod(self.root, 0o755)  # noqa: S103 (Postfix and Dovecot drop root: they must enter)
        self.submission_port = _free_port()
        self.implicit_tls_port = _free_port()
        self._ca = ca
        self._dovecot: subprocess.Popen[bytes] | None = None
        self._postfix_uid = pwd.getpwnam("postfix")

    # --- files -------------------------------------------------------------------------
    def _write_files(self) -> None:
        etc, mail = self.root / "etc", self.root / "mail"
        for folder in (etc, mail, self.root / "dovecot", self.root / "spool"):
            folder.mkdir(parents=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(mail, nobody.pw_uid, nobody.pw_gid)
        cert = self._ca.issue_cert(HOSTNAME, "localhost", "127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(etc / "tls.pem"))
        os.chmod(etc / "tls.pem", 0o600)
        (etc / "mailboxes").write_text(
            "".join(f"{user.login} {user.login}/\n" for user in self.users)
        )
        (etc / "senders").write_text(
            "".join(
                f"{address} {user.login}\n"
                for user in self.users
                for address in (user.login, *user.senders)
            )
        )
        (self.root / "dovecot" / "users").write_text(
            "".join(f"{user.login}:{{PLAIN}}{user.password}\n" for user in self.users)
        )
        (etc / "main.cf").write_text(self._main_cf(nobody))
        (etc / "master.cf").write_text(self._master_cf())
        (self.root / "dovecot" / "dovecot.conf").write_text(self._dovecot_conf())

    def _main_cf(self, nobody: pwd.struct_passwd) -> str:
        etc, root = self.root / "etc", self.root
        return f"""\
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {root / "spool"}
data_directory = {root / "data"}
mail_owner = postfix
setgid_group = postdrop
myhostname = {HOSTNAME}
mydomain = postfix.example
myorigin = $myhostname
mydestination =
mynetworks =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = {root / "postfix.log"}
maillog_file_prefixes = {root}
smtputf8_enable = no
biff = no
message_size_limit = {self.size_limit}
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {root / "mail"}
virtual_mailbox_maps = texthash:{etc / "mailboxes"}
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
smtpd_tls_chain_files = {etc / "tls.pem"}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {root / "spool" / "private" / "auth"}
smtpd_sasl_auth_enable = yes
smtpd_sender_login_maps = texthash:{etc / "senders"}
smtpd_helo_required = yes
smtpd_helo_restrictions = reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_relay_restrictions = defer_unauth_destination
smtpd_recipient_restrictions = permit
"""

    def _master_cf(self) -> str:
        services = [
            # 587-like: STARTTLS required before anything; 465-like: TLS from the first byte.
            f"127.0.0.1:{self.submission_port} inet n - n - - smtpd"
            " -o smtpd_tls_security_level=encrypt",
            f"127.0.0.1:{self.implicit_tls_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        return "\n".join(services) + "\n"

    def _dovecot_conf(self) -> str:
        base = self.root / "dovecot"
        auth_socket = self.root / "spool" / "private" / "auth"
        return f"""\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = {base}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {auth_socket} {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
"""

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._write_files()
        etc = str(self.root / "etc")
        self._run(str(POSTFIX), "-c", etc, "check")  # creates the queue folders
        with (self.root / "dovecot" / "stderr.log").open("wb") as stderr:
            self._dovecot = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(self.root / "dovecot" / "dovecot.conf")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self._run(str(POSTFIX), "-c", etc, "start")
        self._wait_until_listening()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError, RuntimeError):
            self._run(str(POSTFIX), "-c", str(self.root / "etc"), "stop")
        if self._dovecot is not None:
            self._dovecot.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._dovecot.wait(10)
            if self._dovecot.poll() is None:
                self._dovecot.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, *args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr or done.stdout}")

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 20
        auth_socket = self.root / "spool" / "private" / "auth"
        while time.monotonic() < deadline:
            if self._dovecot is not None and self._dovecot.poll() is not None:
                stderr = (self.root / "dovecot" / "stderr.log").read_text(errors="replace")
                raise RuntimeError(f"Dovecot did not start: {stderr}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.submission_port), timeout=1) as sock,
            ):
                if sock.recv(64).startswith(b"220") and auth_socket.exists():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"Postfix did not start: {self.log()[-3000:]}")

    # --- what tests read ---------------------------------------------------------------
    def log(self) -> str:
        parts = []
        for path in (self.root / "postfix.log", self.root / "dovecot" / "dovecot.log"):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def mailbox(self, login: str) -> list[EmailMessage]:
        """Messages delivered to ``login``'s Maildir, oldest first."""
        new = self.root / "mail" / login / "new"
        if not new.is_dir():
            return []
        paths = sorted(new.iterdir(), key=lambda path: path.stat().st_mtime_ns)
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(path.read_bytes()) for path in paths]

    def wait_for_mail(self, login: str, count: int = 1, timeout: float = 20) -> list[EmailMessage]:
        """Postfix delivers after it accepted (its queue): wait for the Maildir."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.mailbox(login)
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        raise AssertionError(
            f"{login} got {len(self.mailbox(login))} of {count}: {self.log()[-3000:]}"
        )


@contextlib.contextmanager
def postfix_server(
    ca: trustme.CA,
    users: list[MailUser],
    *,
    size_limit: int = 10_240_000,
) -> Iterator[PostfixServer]:
    server = PostfixServer(ca, users, size_limit=size_limit)
    try:
        server.start()
        yield server
    finally:
        server.stop()
