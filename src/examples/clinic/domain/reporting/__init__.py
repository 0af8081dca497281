"""Reports over the booking domain: the weekly report per clinic."""

from .events import WeeklyReportCompiled, WeeklyReportDue

__all__ = ["WeeklyReportCompiled", "WeeklyReportDue"]
