"""Reporting: the weekly report per clinic, compiled on the ``report`` queue every Monday."""

from .registration import REPORT_QUEUE, Names, register_report_handlers
from .weekly import WEEKLY_REPORT, CompileWeeklyReport, register_report_schedules

__all__ = [
    "REPORT_QUEUE",
    "WEEKLY_REPORT",
    "CompileWeeklyReport",
    "Names",
    "register_report_handlers",
    "register_report_schedules",
]
