"""Time as a port, so tests and the demo can run hours of timers in no time."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the time and waits.

    Adapters take a clock instead of calling ``datetime.now`` or ``time.sleep``: the system
    clock in production, a virtual one in tests, where ``sleep`` advances time at once.
    """

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a virtual clock just moves forward)."""
        ...
