"""Keys and the sealing of one payload: AES-256-GCM, a key id, the header bound as AAD.

A key is 32 random bytes in urlsafe base64, the format of a Fernet key, so ``hexbus keys
generate``, ``Fernet.generate_key()`` and an existing ``DATA_ENCRYPTION_KEY`` all give one.
It is never used as it is: HKDF-SHA256 derives from it, with a 16-byte random salt per
message, the AES-256-GCM key of that message alone, so no key/nonce pair ever repeats however
many messages one key seals (a random 96-bit nonce under one fixed key would be limited to
about 2^32 messages, NIST SP 800-38D), and a key shared with another system under Fernet is
never used by both algorithms. Its id is the first 4 bytes of HMAC-SHA256(key, "hexbus key id
v1"), in hex: it names the key in every token without revealing it.

A token is ``hxe1.<key id>.<base64url(salt 16 | nonce 12 | ciphertext | tag 16)>``. The
associated data is the event's routing header, so a ciphertext moved onto another event's
header (by someone who can write to Redis) does not open. ``cryptography`` is imported on
first use: a process without keys never loads it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from ...domain.errors import UndecryptableEvent

if TYPE_CHECKING:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES: Final = 32
SALT_BYTES: Final = 16
NONCE_BYTES: Final = 12
PREFIX: Final = "hxe1"
_INFO: Final = b"hexbus payload v1"
_KEY_ID_INFO: Final = b"hexbus key id v1"


class UnknownKey(UndecryptableEvent):
    """The payload was sealed with a key this process does not have."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(
            f"the payload is sealed with key {key_id}, which is not in HEXBUS_ENCRYPTION_KEYS: "
            "add that key (after the one that encrypts) and retry the dead letter"
        )


def generate_key() -> str:
    """A new key: 32 random bytes, urlsafe base64 (the Fernet format)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def decode_key(text: str) -> bytes:
    """The 32 bytes of a key; ValueError (which never quotes the key) when it is not one."""
    try:
        material = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("is not urlsafe base64") from None
    if len(material) != KEY_BYTES:
        raise ValueError(f"decodes to {len(material)} bytes, not {KEY_BYTES}")
    return material


def key_id(material: bytes) -> str:
    """The public name of a key (8 hex digits)."""
    return hmac.new(material, _KEY_ID_INFO, hashlib.sha256).hexdigest()[:8]


@functools.cache
def _crypto() -> tuple[Any, Any, Any]:
    # Imported on first use, so a process without keys never loads cryptography.
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: PLC0415

    return AESGCM, HKDF, hashes.SHA256


@attrs.frozen(repr=False)
class Key:
    """One key and its id."""

    material: bytes
    id: str

    @classmethod
    def from_text(cls, text: str) -> Key:
        """A key from its urlsafe base64 text."""
        material = decode_key(text)
        return cls(material, key_id(material))

    def _aead(self, salt: bytes) -> AESGCM:
        aesgcm, hkdf, sha256 = _crypto()
        derived = hkdf(algorithm=sha256(), length=32, salt=salt, info=_INFO).derive(self.material)
        aead: AESGCM = aesgcm(derived)
        return aead

    def seal(self, plaintext: bytes, associated: bytes) -> str:
        """``plaintext`` sealed under this key, bound to ``associated``."""
        salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
        sealed = self._aead(salt).encrypt(nonce, plaintext, associated)
        body = base64.urlsafe_b64encode(salt + nonce + sealed).rstrip(b"=").decode()
        return f"{PREFIX}.{self.id}.{body}"

    def open(self, body: str, associated: bytes) -> bytes:
        """The plaintext of a token's body; :class:`UndecryptableEvent` when it does not open."""
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise UndecryptableEvent("the ciphertext is not base64") from None
        if len(raw) < SALT_BYTES + NONCE_BYTES + 16:
            raise UndecryptableEvent("the ciphertext is truncated")
        salt, nonce, sealed = raw[:SALT_BYTES], raw[SALT_BYTES:][:NONCE_BYTES], raw[28:]
        try:
            plaintext: bytes = self._aead(salt).decrypt(nonce, sealed, associated)
        except Exception:  # cryptography's InvalidTag, whatever its module
            raise UndecryptableEvent(
                f"the ciphertext does not open with key {self.id}: it was altered, or moved "
                "onto another event's header"
            ) from None
        return plaintext

    def __repr__(self) -> str:
        return f"Key(id={self.id!r})"


def key_id_of(token: str) -> str | None:
    """The key id a token names, or None when it is not a token of ours."""
    prefix, _, rest = token.partition(".")
    kid, dot, _ = rest.partition(".")
    return kid if prefix == PREFIX and dot and len(kid) == 8 else None


@attrs.frozen
class Keyring:
    """The keys in force: the first seals, every one opens (rotation, ADR 0016)."""

    keys: tuple[Key, ...]

    def __attrs_post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one key")
        ids = [key.id for key in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError("two keys are the same (or share an id)")

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Keyring:
        """A keyring from the keys' texts, the sealing one first."""
        return cls(tuple(Key.from_text(text) for text in texts))

    @property
    def primary(self) -> Key:
        """The key that seals."""
        return self.keys[0]

    def seal(self, plaintext: bytes, associated: bytes) -> str:
        """Sealed with the primary key."""
        return self.primary.seal(plaintext, associated)

    def open(self, token: str, associated: bytes) -> bytes:
        """The plaintext of ``token``, with whichever key it names."""
        kid = key_id_of(token)
        if kid is None:
            raise UndecryptableEvent("the ciphertext field holds no hexbus token")
        for key in self.keys:
            if key.id == kid:
                return key.open(token.split(".", 2)[2], associated)
        raise UnknownKey(kid)

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is sealed with the primary key (rotation skips it)."""
        return key_id_of(token) == self.primary.id
