"""When an event published with ``delay=`` or ``at=`` is due: one rule for every adapter."""

from __future__ import annotations

from datetime import datetime, timedelta


def due_time(now: datetime, delay: timedelta | None, at: datetime | None) -> datetime | None:
    """The due time, or None for "now". Refuses both at once, a negative delay, a naive ``at``."""
    if delay is not None and at is not None:
        raise ValueError("give delay= or at=, not both")
    if delay is not None:
        if delay < timedelta(0):
            raise ValueError(f"delay must not be negative, got {delay}")
        return now + delay
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ValueError("at= must be timezone-aware")
    return at
