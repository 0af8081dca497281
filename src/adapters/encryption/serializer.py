"""The serializer that seals payloads: same interface as :class:`EventSerializer` (ADR 0016).

Writing (``dumps``): the envelope as the plain serializer makes it, then its ``payload`` is
replaced by ``ciphertext``, the payload's compact JSON sealed by the keyring's primary key with
the routing header as associated data. ``to_dict`` stays the plain envelope: it never leaves
the process (the log observer uses it, and logs payloads only with ``HEXBUS_LOG_PAYLOADS``).

Reading (``loads``/``from_dict``): a sealed envelope is opened with the key its token names,
then read as usual; one it cannot open raises :class:`~hexbus.UndecryptableEvent` (the worker
dead-letters the message with reason ``undecryptable``, and goes on). An envelope in clear is
still read: messages published before the keys were set keep working, and ``hexbus keys
rotate`` seals what is stored. ``reveal`` opens an envelope for the operator's view;
``reseal`` gives rotation an envelope sealed with the newest key.
"""

from __future__ import annotations

import json
from typing import Any

from ...domain.errors import UndecryptableEvent
from ...domain.event_types import EventTypeRegistry
from ...domain.events import DomainEvent
from ...domain.serialization import CIPHERTEXT_FIELD, HEADER_FIELDS, EventSerializer
from .keys import Keyring


def associated_data(envelope: dict[str, Any]) -> bytes:
    """The routing header as the bytes a ciphertext is bound to."""
    header = [envelope.get(name) for name in HEADER_FIELDS]
    return b"hexbus envelope v1|" + json.dumps(header, separators=(",", ":")).encode()


def header_of(envelope: dict[str, Any]) -> dict[str, Any]:
    """The routing header of ``envelope``, in its order."""
    return {name: envelope[name] for name in HEADER_FIELDS if name in envelope}


class EncryptingSerializer(EventSerializer):
    """An :class:`EventSerializer` whose text carries the payload sealed."""

    def __init__(self, keyring: Keyring, registry: EventTypeRegistry | None = None) -> None:
        super().__init__(registry)
        self.keyring = keyring

    # --- writing ---------------------------------------------------------------------------

    def dumps(self, event: DomainEvent) -> str:
        """The event as compact JSON, its payload sealed."""
        sealed = self.seal(self.to_dict(event))
        return json.dumps(sealed, separators=(",", ":"), ensure_ascii=False)

    def seal(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """``envelope`` (in clear) with its payload sealed by the primary key."""
        payload = json.dumps(envelope["payload"], separators=(",", ":"), ensure_ascii=False)
        token = self.keyring.seal(payload.encode(), associated_data(envelope))
        return {**header_of(envelope), CIPHERTEXT_FIELD: token}

    # --- reading ---------------------------------------------------------------------------

    def from_dict(self, envelope: Any) -> DomainEvent:
        """Open a sealed envelope, then read it as the plain serializer does."""
        if isinstance(envelope, dict) and CIPHERTEXT_FIELD in envelope:
            envelope = self.reveal(envelope)
        return super().from_dict(envelope)

    def reveal(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """``envelope`` with its payload in clear (as it is when it was never sealed)."""
        token = envelope.get(CIPHERTEXT_FIELD)
        if token is None:
            return envelope
        if not isinstance(token, str) or "payload" in envelope:
            raise UndecryptableEvent("the envelope's ciphertext is not a token")
        plaintext = self.keyring.open(token, associated_data(envelope))
        try:
            payload = json.loads(plaintext)
        except ValueError:
            raise UndecryptableEvent("the opened payload is not JSON") from None
        return {**header_of(envelope), "payload": payload}

    def reseal(self, envelope: dict[str, Any]) -> dict[str, Any] | None:
        """``envelope`` sealed with the primary key, or None when it already is."""
        token = envelope.get(CIPHERTEXT_FIELD)
        if isinstance(token, str) and self.keyring.is_current(token):
            return None
        return self.seal(self.reveal(envelope))
