"""Idempotency records kept in a dict, expiring lazily."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from ...ports.clock import Clock

K = TypeVar("K")


class InMemoryIdempotencyStore:
    """The :class:`IdempotencyStore` port in process memory.

    Expired records are dropped in small batches as new ones arrive, so a long-lived process
    does not grow without bound and no call pays for a full sweep.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._claims: dict[str, datetime] = {}
        self._successes: dict[tuple[UUID, str], datetime] = {}
        self._expiry: list[tuple[datetime, int, Callable[[], None]]] = []
        self._sequence = 0
        self._lock = threading.Lock()

    def claim(self, key: str, ttl: timedelta) -> bool:
        """True the first time ``key`` is claimed within ``ttl``."""
        now = self._clock.now()
        with self._lock:
            self._expire(now)
            expires = self._claims.get(key)
            if expires is not None and expires > now:
                return False
            until = now + ttl
            self._claims[key] = until
            self._schedule_expiry(until, lambda: self._drop(self._claims, key, until))
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
        until = self._clock.now() + ttl
        key = (event_id, handler)
        with self._lock:
            self._successes[key] = until
            self._schedule_expiry(until, lambda: self._drop(self._successes, key, until))

    def _schedule_expiry(self, at: datetime, drop: Callable[[], None]) -> None:
        self._sequence += 1
        heapq.heappush(self._expiry, (at, self._sequence, drop))

    def _expire(self, now: datetime, batch: int = 64) -> None:
        for _ in range(batch):
            if not self._expiry or self._expiry[0][0] > now:
                return
            heapq.heappop(self._expiry)[2]()

    @staticmethod
    def _drop(records: dict[K, datetime], key: K, until: datetime) -> None:
        # A record renewed since this expiry was scheduled carries a later time: keep it.
        if records.get(key) == until:
            del records[key]
