"""The idempotency records in Redis: publish claims and per-handler successes."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import redis

from ...ports.clock import Clock
from .keys import RedisKeys


class RedisIdempotencyStore:
    """The :class:`IdempotencyStore` port on Redis.

    Successes of all handlers of one event share a hash ``{ns}:done:{event_id}`` (one key per
    event, not per handler), expiring with the idempotency retention.
    """

    def __init__(self, client: redis.Redis, keys: RedisKeys, clock: Clock) -> None:
        self._client = client
        self._keys = keys
        self._clock = clock

    def claim(self, key: str, ttl: timedelta) -> bool:
        """SET NX with a TTL: True for the first claim."""
        return bool(self._client.set(self._keys.claim(key), "1", nx=True, px=_ms(ttl)))

    def has_succeeded(self, event_id: UUID, handler: str) -> bool:
        """HEXISTS on the event's success hash."""
        return bool(self._client.hexists(self._keys.done(event_id), handler))

    def record_success(self, event_id: UUID, handler: str, ttl: timedelta) -> None:
        """HSET and PEXPIRE in one round trip."""
        key = self._keys.done(event_id)
        now_ms = int(self._clock.now().timestamp() * 1000)
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(key, handler, now_ms)
        pipe.pexpire(key, _ms(ttl))
        pipe.execute()


def _ms(delta: timedelta) -> int:
    return max(int(delta.total_seconds() * 1000), 1)
