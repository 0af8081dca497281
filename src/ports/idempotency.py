"""Records that make redelivery harmless."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol
from uuid import UUID


class IdempotencyStore(Protocol):
    """Remembers which keys were claimed and which handlers succeeded for which events.

    Publish deduplication claims the event_id; each handler's success is recorded against
    (event_id, handler name), so a redelivered event skips handlers that already succeeded.
    Records live for ``ttl``: a redelivery later than that is treated as new (ADR 0003).
    """

    def claim(self, key: str, ttl: timedelta) -> bool:
        """True for the first claim of ``key`` within ``ttl``; False for every later one."""
        ...

    def has_succeeded(self, event_id: UUID, handler: str) -> bool:
        """Whether ``handler`` already succeeded for ``event_id``."""
        ...

    def record_success(self, event_id: UUID, handler: str, ttl: timedelta) -> None:
        """Note that ``handler`` succeeded for ``event_id``."""
        ...
