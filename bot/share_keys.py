"""Personal share keys, like Apple's app-specific passwords: ``xsk_<id>_<secret>``.

The id is the key's public part (how a request finds its row); the secret is 32 random
bytes, of which only a salted SHA-256 is stored. A secret of that size cannot be guessed,
so a slow password hash would add nothing but CPU per upload.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

PREFIX = "xsk_"
_KEY = re.compile(r"^xsk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewShareKey:
    """A key as made: the text shown once, and what storage keeps of it."""

    key_id: str
    text: str = field(repr=False)
    salt: bytes = field(repr=False)
    secret_hash: bytes = field(repr=False)


@dataclass(frozen=True)
class PresentedKey:
    """A key as a request presents it, split into its parts."""

    key_id: str
    secret: str = field(repr=False)


def _hash(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("ascii")).digest()


def new_share_key() -> NewShareKey:
    key_id = secrets.token_hex(16)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    return NewShareKey(
        key_id=key_id,
        text=f"{PREFIX}{key_id}_{secret}",
        salt=salt,
        secret_hash=_hash(salt, secret),
    )


def parse_share_key(text: str) -> PresentedKey | None:
    """The parts of a well-formed key; None for anything else."""
    found = _KEY.fullmatch(text.strip())
    return PresentedKey(found.group(1), found.group(2)) if found else None


def secret_matches(presented: PresentedKey, *, salt: bytes, secret_hash: bytes) -> bool:
    return hmac.compare_digest(_hash(salt, presented.secret), secret_hash)


def bearer_key(authorization: str | None) -> PresentedKey | None:
    """The key in an ``Authorization: Bearer xsk_…`` header, or None."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return parse_share_key(value)
