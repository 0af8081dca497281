"""Recurring-schedule progress in Redis, shared by every ``hexbus scheduler``."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from .keys import RedisKeys
from .millis import epoch_ms
from .scripts import Scripts


class RedisScheduleState:
    """The :class:`ScheduleState` port on the ``{ns}:schedules`` hash."""

    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys
        self._scripts = Scripts.register(client)

    def last_tick(self, schedule: str) -> datetime | None:
        """The latest tick dealt with, by any scheduler."""
        raw = self._client.hget(self._keys.schedules, schedule)
        if raw is None:
            return None
        return datetime.fromtimestamp(int(raw) / 1000, UTC)

    def record_tick(self, schedule: str, tick: datetime) -> None:
        """Move the mark forward (a script: never backwards)."""
        self._scripts.record_tick(keys=[self._keys.schedules], args=[schedule, epoch_ms(tick)])
