"""Secrets at rest: AES-GCM with a key id stored beside every ciphertext.

Keys are 32 random bytes written as URL-safe base64. Several keys may be configured,
newest first: the newest encrypts, any of them decrypts (by key id), and
``xenocept keys rotate`` re-encrypts everything under the newest. The associated data
binds a ciphertext to its row, so a ciphertext copied onto another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.errors import SecretKeyError, SettingsError

NONCE_BYTES = 12


@dataclass(frozen=True)
class Sealed:
    """A ciphertext and the id of the key that made it."""

    key_id: str
    ciphertext: bytes


def new_key() -> str:
    """A fresh key in the text form the settings and key file use."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(b"xenocept-key-id:" + key).hexdigest()[:12]


def parse_key(text: str, *, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise SettingsError(
            f"{source} is not a valid key: generate one with `xenocept keys new` "
            "(32 random bytes in URL-safe base64)."
        )
    return key


class SecretBox:
    """Encrypts and decrypts secrets with the configured keys (newest first)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SettingsError("No encryption key is configured.")
        self._keys = {key_id_of(key): AESGCM(key) for key in keys}
        self.current_key_id = key_id_of(keys[0])

    def seal(self, plaintext: str, *, context: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        cipher = self._keys[self.current_key_id]
        data = cipher.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return Sealed(key_id=self.current_key_id, ciphertext=nonce + data)

    def open(self, sealed: Sealed, *, context: str, label: str) -> str:
        cipher = self._keys.get(sealed.key_id)
        if cipher is None:
            raise SecretKeyError(
                label=label, key_id=sealed.key_id, reason="that key is not configured"
            )
        nonce, data = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, data, context.encode("utf-8"))
        except InvalidTag:
            raise SecretKeyError(
                label=label, key_id=sealed.key_id, reason="the data does not match the key"
            ) from None
        return plain.decode("utf-8")

    def needs_rotation(self, sealed: Sealed) -> bool:
        return sealed.key_id != self.current_key_id


def load_keys(*, configured: str | None, key_file: Path) -> list[bytes]:
    """Keys from ``XENOCEPT_SECRET_KEY``, else from (a newly made) key file."""
    if configured:
        items = [item for item in configured.split(",") if item.strip()]
        return [parse_key(item, source="XENOCEPT_SECRET_KEY") for item in items]
    if not key_file.exists():
        _create_key_file(key_file)
    lines = key_file.read_text("ascii").split()
    if not lines:
        raise SettingsError(
            f"The key file {key_file} is empty: delete it only if no "
            "destination was saved with it, or set XENOCEPT_SECRET_KEY."
        )
    return [parse_key(line, source=f"the key file {key_file}") for line in lines]


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never overwrite a key another process just wrote; 0600 from the start.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new_key() + "\n")
