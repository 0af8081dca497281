"""Payload encryption at rest, behind the serializer seam (ADR 0016).

With ``HEXBUS_ENCRYPTION_KEYS`` (or ``DATA_ENCRYPTION_KEY``) set, the container's serializer is
an :class:`EncryptingSerializer`: the envelope's routing header (type, version, id, times,
correlation and causation ids) stays in clear, and the payload fields become one ``ciphertext``
field, sealed with AES-256-GCM before the event leaves the publisher. Every place Redis holds
an event (queues, the schedule, dead letters) holds it sealed, because they all hold what the
serializer wrote; a worker opens it to run the handler, and the API for the operator role only.
"""

from .keys import Keyring, UnknownKey, generate_key
from .serializer import EncryptingSerializer

__all__ = ["EncryptingSerializer", "Keyring", "UnknownKey", "generate_key"]
