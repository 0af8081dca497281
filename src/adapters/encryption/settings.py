"""The encryption adapter's settings: the keys that seal payloads at rest (ADR 0016).

Declared here, beside the serializer they configure (:mod:`hexbus.adapters.environment` says
how). ``DATA_ENCRYPTION_KEY`` is the single-key form some deployments already have (the
health-interoperability gateway's); with both set, ``HEXBUS_ENCRYPTION_KEYS`` seals and the
other only opens. The keys are shown as their ids, never themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Self

import attrs

from ...domain.errors import ConfigurationError
from ..environment import Setting, SettingsGroup
from .keys import decode_key, key_id


def _keys(name: str, raw: str) -> tuple[str, ...]:
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    seen: set[bytes] = set()
    for position, text in enumerate(keys, start=1):
        try:
            material = decode_key(text)
        except ValueError as error:
            # Never the key itself, even a malformed one: it may be a real key mistyped.
            raise ConfigurationError(
                name,
                f"key {position} {error}: a key is 32 random bytes in urlsafe base64 "
                "(the Fernet format); make one with `hexbus keys generate`",
            ) from None
        if material in seen:
            raise ConfigurationError(name, f"key {position} is given twice")
        seen.add(material)
    if not keys:
        raise ConfigurationError(name, "names no key")
    return keys


def describe_keys(keys: tuple[str, ...]) -> str:
    """What ``hexbus config`` shows: on or off, and the keys' ids (never the keys)."""
    if not keys:
        return "off (payloads are stored in clear)"
    ids = [key_id(decode_key(text)) for text in keys]
    also = f"; also opens {', '.join(ids[1:])}" if len(ids) > 1 else ""
    return f"on: seals with key {ids[0]}{also}"


ENCRYPTION_KEYS: Final[Setting[tuple[str, ...]]] = Setting(
    name="HEXBUS_ENCRYPTION_KEYS",
    parse=_keys,
    default=(),
    description="keys that encrypt event payloads at rest, comma-separated: the first seals, "
    "every one opens (rotation: put the new key first, run 'hexbus keys rotate', then drop the "
    "old); each is 32 random bytes in urlsafe base64 ('hexbus keys generate'); shown by id",
    show=describe_keys,
    confidential=True,
)
DATA_ENCRYPTION_KEY: Final[Setting[tuple[str, ...]]] = Setting(
    name="DATA_ENCRYPTION_KEY",
    parse=_keys,
    default=(),
    description="one key, the same format, used when HEXBUS_ENCRYPTION_KEYS is unset (with "
    "both, it only opens)",
    show=describe_keys,
    confidential=True,
)


@attrs.frozen(kw_only=True)
class EncryptionSettings(SettingsGroup):
    """Which keys seal and open event payloads; none: payloads are stored in clear."""

    title = "payload encryption"

    keys: tuple[str, ...] = attrs.field(default=(), repr=False)
    """The sealing key first, then those that only open."""
    single_key_given: bool = False
    """Whether DATA_ENCRYPTION_KEY was set (for ``describe``)."""

    @classmethod
    def declared(cls) -> tuple[Setting[Any], ...]:
        """Both forms of the keys."""
        return (ENCRYPTION_KEYS, DATA_ENCRYPTION_KEY)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """``HEXBUS_ENCRYPTION_KEYS``, then ``DATA_ENCRYPTION_KEY`` if it is not among them."""
        keys = ENCRYPTION_KEYS.read(env)
        single = DATA_ENCRYPTION_KEY.read(env)
        if len(single) > 1:
            raise ConfigurationError(
                DATA_ENCRYPTION_KEY.name, "holds one key; several go in HEXBUS_ENCRYPTION_KEYS"
            )
        materials = {decode_key(text) for text in keys}
        extra = tuple(text for text in single if decode_key(text) not in materials)
        return cls(keys=keys + extra, single_key_given=bool(single))

    @property
    def enabled(self) -> bool:
        """Whether payloads are sealed."""
        return bool(self.keys)

    def describe(self) -> dict[str, str]:
        """The keys in force, by id."""
        return {
            ENCRYPTION_KEYS.name: describe_keys(self.keys),
            DATA_ENCRYPTION_KEY.name: "set" if self.single_key_given else "not set",
        }
