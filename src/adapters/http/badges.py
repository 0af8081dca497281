"""A queue's health badge, from its stats and the alert thresholds in the settings.

One rule, used by the stats endpoint, ``/health`` and the dashboard, so they never disagree
about what "warning" means: a queue is *warning* when its failure rate is above
``HEXBUS_ALERT_FAILURE_RATE`` or its backlog (messages waiting) above
``HEXBUS_ALERT_BACKLOG``; otherwise *busy* while anything waits or runs; otherwise *healthy*.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs

from ...ports.monitoring import QueueStats

Badge = Literal["healthy", "busy", "warning"]

_SEVERITY: dict[Badge, int] = {"healthy": 0, "busy": 1, "warning": 2}


@attrs.frozen(kw_only=True)
class Thresholds:
    """Where a queue turns to warning: above either limit."""

    failure_rate: float
    backlog: int


def backlog(stats: QueueStats) -> int:
    """Work ready to run that no worker has taken yet.

    Scheduled events are not backlog: a clinic with 5,000 reminders booked for next week is
    healthy. They show in their own column.
    """
    return stats.waiting


def is_over(stats: QueueStats, thresholds: Thresholds) -> bool:
    """True when the queue crosses a threshold."""
    return stats.failure_rate > thresholds.failure_rate or backlog(stats) > thresholds.backlog


def badge(stats: QueueStats, thresholds: Thresholds) -> Badge:
    """The queue's badge by the rule above."""
    if is_over(stats, thresholds):
        return "warning"
    if stats.running > 0 or stats.waiting > 0:
        return "busy"
    return "healthy"


def worst(badges: Iterable[Badge]) -> Badge:
    """The most severe badge (healthy when there is none): the overall one."""
    return max(badges, key=_SEVERITY.__getitem__, default="healthy")
