"""Sliding-window rate limits for the in-memory bus, on whatever clock it runs."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta


class SlidingWindows:
    """At most ``limit`` starts per ``period`` per bucket; the Redis adapter's rule, in memory."""

    def __init__(self) -> None:
        self._starts: dict[str, deque[datetime]] = {}

    def take(self, bucket: str, limit: int, period: timedelta, now: datetime) -> datetime | None:
        """Take a slot now and return None, or return when the next slot frees."""
        starts = self._starts.setdefault(bucket, deque())
        while starts and starts[0] <= now - period:
            starts.popleft()
        if len(starts) < limit:
            starts.append(now)
            return None
        return starts[0] + period
