"""Recurring-schedule progress kept in a dict: tests, the demo, a single process."""

from __future__ import annotations

from datetime import datetime


class InMemoryScheduleState:
    """The :class:`ScheduleState` port in a dict (tests, the demo, a single process)."""

    def __init__(self) -> None:
        self._ticks: dict[str, datetime] = {}

    def last_tick(self, schedule: str) -> datetime | None:
        """The latest tick dealt with."""
        return self._ticks.get(schedule)

    def record_tick(self, schedule: str, tick: datetime) -> None:
        """Move forward only."""
        current = self._ticks.get(schedule)
        if current is None or tick > current:
            self._ticks[schedule] = tick
