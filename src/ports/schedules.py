"""Ports for recurring schedules: where their progress is kept, and timers a bus can run."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Protocol


class CatchUp(Enum):
    """What to do with ticks that were missed while no scheduler ran."""

    SKIP = "skip"
    """Fire only a tick that is due now (within the grace period); drop older ones."""
    RUN_ONCE = "run_once"
    """Fire the latest missed tick once, however many were missed."""


class ScheduleState(Protocol):
    """Remembers the last tick fired per schedule, so a restart knows what it missed.

    Correctness does not depend on it being exact: every tick's event_id is derived from the
    schedule name and the tick time, so firing a tick twice publishes a duplicate.
    """

    def last_tick(self, schedule: str) -> datetime | None:
        """The latest tick fired (or skipped) for ``schedule``; None before the first run."""
        ...

    def record_tick(self, schedule: str, tick: datetime) -> None:
        """Note that every tick up to ``tick`` is dealt with (never moves backwards)."""
        ...


class TimerSource(Protocol):
    """Something with work due at known times, that a virtual-time bus can drive."""

    def next_due(self) -> datetime | None:
        """When it next has something to do."""
        ...

    def run_due(self, now: datetime) -> int:
        """Do what is due at ``now``; returns how many things it did."""
        ...
