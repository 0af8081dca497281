"""Times as the Redis scripts take them: moments in epoch milliseconds, durations in whole
milliseconds. One spelling for every module that writes a script's arguments, so a moment
is never rounded one way in one script and another way in the next."""

from __future__ import annotations

from datetime import datetime, timedelta


def epoch_ms(moment: datetime) -> int:
    """``moment`` in whole milliseconds since the epoch (truncated)."""
    return int(moment.timestamp() * 1000)


def ms(delta: timedelta) -> int:
    """A duration in whole milliseconds (at least 1: a TTL or a horizon of 0 would mean
    something else to Redis)."""
    return max(int(delta.total_seconds() * 1000), 1)
