"""Make untrusted text safe for use in a mail header."""

from __future__ import annotations

import re
import unicodedata
from email.header import Header
from email.policy import Policy

import idna

HEADER_LIMIT = 200
_ZWJ = "\u200d"  # kept: joins emoji sequences
_TAGS = range(0xE0020, 0xE0080)  # kept: emoji tag sequences (subdivision flags)
_MIMETYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def _is_control(char: str) -> bool:
    if char == _ZWJ or ord(char) in _TAGS:
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs")


def ascii_domain(domain: str) -> str:
    """An internationalised domain as DNS and mail headers carry it (IDNA, "xn--…")."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain  # the form refuses such domains; an old row just fails to send


def ascii_address(address: str) -> str:
    """``local@domain`` with the domain in its ASCII (IDNA) form; the local part as typed."""
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{ascii_domain(domain)}" if at else address


def clean_header(text: str, limit: int = HEADER_LIMIT) -> str:
    """One line of text: no CR/LF or other controls, whitespace collapsed, at most `limit` chars."""
    spaced = "".join(" " if _is_control(char) else char for char in text)
    collapsed = " ".join(spaced.split())
    if len(collapsed) <= limit:
        return collapsed
    return collapsed[: limit - 1].rstrip() + "…"


def clean_filename(name: str, fallback: str = "file") -> str:
    """A file name fit for a Content-Disposition parameter: no path parts, no controls."""
    base = re.split(r"[/\\]", name)[-1]
    cleaned = clean_header(base, limit=150).strip(". ")
    return cleaned or fallback


def clean_mimetype(mimetype: str) -> tuple[str, str]:
    """(maintype, subtype) of a well-formed MIME type, else application/octet-stream."""
    value = mimetype.strip().lower().split(";")[0].strip()
    if not _MIMETYPE_RE.fullmatch(value):
        return "application", "octet-stream"
    maintype, subtype = value.split("/", 1)
    return maintype, subtype


class EncodedSubject(str):
    """A non-ASCII Subject folded by :class:`email.header.Header` into encoded-words only.

    The default email policy folds text and encoded-words side by side and can move a space
    to where a mail client shows it twice ("runbook  “payments”"); a Subject made only of
    encoded-words carries every space inside them.
    """

    name = "Subject"

    def fold(self, *, policy: Policy) -> str:
        linesep = policy.linesep
        encoded = Header(str(self), "utf-8", header_name="Subject").encode(linesep=linesep)
        return f"Subject: {encoded}{linesep}"


def subject_header(text: str) -> str:
    """The value to store as Subject: ASCII as it is, anything else as encoded-words."""
    return text if text.isascii() else EncodedSubject(text)
