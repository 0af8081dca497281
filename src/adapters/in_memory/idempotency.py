"""Idempotency records kept in dicts, expiring lazily in insertion order."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from ...ports.clock import Clock

K = TypeVar("K")


class InMemoryIdempotencyStore:
    """The :class:`IdempotencyStore` port in process memory.

    Each record holds its expiry time and is checked against it, so a record past its time is
    never honoured. Dropping them is lazy: dicts keep insertion order, which is expiry order
    as long as TTLs are equal, so each write drops a few of the oldest records that have
    expired. A longer TTL (a delayed event's) only delays dropping the records behind it. A
    long-lived process stays bounded and no call pays for a full sweep.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._claims: dict[str, datetime] = {}
        self._successes: dict[tuple[UUID, str], datetime] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, ttl: timedelta) -> bool:
        """True the first time ``key`` is claimed within ``ttl``."""
        now = self._clock.now()
        with self._lock:
            expires = self._claims.get(key)
            if expires is not None and expires > now:
                return False
            _renew(self._claims, key, now + ttl)
            _drop_expired(self._claims, now)
            return True

    def release(self, key: str) -> None:
        """Forget a claim (the publish it guarded did not happen)."""
        with self._lock:
            self._claims.pop(key, None)

    def has_succeeded(self, event_id: UUID, handler: str) -> bool:
        """Whether ``handler`` succeeded for ``event_id`` within the retention."""
        expires = self._successes.get((event_id, handler))
        return expires is not None and expires > self._clock.now()

    def record_success(self, event_id: UUID, handler: str, ttl: timedelta) -> None:
        """Remember the success until ``ttl`` has passed."""
        now = self._clock.now()
        with self._lock:
            _renew(self._successes, (event_id, handler), now + ttl)
            _drop_expired(self._successes, now)

    def __len__(self) -> int:
        return len(self._claims) + len(self._successes)


def _renew(records: dict[K, datetime], key: K, until: datetime) -> None:
    # Re-inserting moves the key to the end, keeping insertion order = expiry order.
    records.pop(key, None)
    records[key] = until


def _drop_expired(records: dict[K, datetime], now: datetime, batch: int = 8) -> None:
    for _ in range(batch):
        oldest = next(iter(records), None)
        if oldest is None or records[oldest] > now:
            return
        del records[oldest]
