"""Clock adapters: the real one, and a virtual one whose time moves only when told to."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    """Wall-clock time in UTC; ``sleep`` really sleeps."""

    def now(self) -> datetime:
        """Now, in UTC."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that stands still until advanced: tests say "24 hours later" without waiting.

    ``sleep`` advances the clock at once, so code that retries with backoff runs instantly and
    still sees time pass. Thread-safe, so an HTTP test server can read it too.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The virtual now."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` instead of waiting."""
        if seconds > 0:
            self.advance(timedelta(seconds=seconds))

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward by ``delta``; returns the new now."""
        if delta < timedelta(0):
            raise ValueError(f"time only moves forward; cannot advance by {delta}")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (not earlier than now)."""
        if moment.tzinfo is None:
            raise ValueError("VirtualClock.set needs a timezone-aware datetime")
        with self._lock:
            if moment < self._now:
                raise ValueError(f"time only moves forward; {moment} is before {self._now}")
            self._now = moment.astimezone(UTC)
