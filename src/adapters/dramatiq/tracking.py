"""How long status and statistics records live, and whether status is tracked at all."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs


@attrs.frozen(kw_only=True)
class Tracking:
    """Retention of the operators' records (issue 5): succeeded kept 24 h and at most the
    newest 1,000; failed and dead 7 days; per-minute statistics 2 hours.

    ``enabled=False`` turns per-event status off (statistics stay): the benchmark measures
    what status costs by running both ways.
    """

    enabled: bool = True
    status_ttl: timedelta = timedelta(days=7)
    succeeded_ttl: timedelta = timedelta(hours=24)
    succeeded_keep: int = 1000
    stats_retention: timedelta = timedelta(hours=2)
    """How long a queue's per-minute counts are kept (the longest stats window is 2 hours):
    the workers' upkeep removes older minutes (``Maintenance.prune_stats``)."""
    window: timedelta = timedelta(minutes=15)

    @property
    def flag(self) -> str:
        """The scripts' ARGV form."""
        return "1" if self.enabled else "0"


def minute_of(moment: datetime) -> int:
    """The minute bucket of ``moment`` (epoch seconds // 60); callers pass their clock's now,
    so statistics land in the minute the :class:`Clock` port says it is."""
    return int(moment.timestamp() // 60)
