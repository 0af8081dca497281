"""The reporting handler: the ``report`` queue, one at a time, a long timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .....application.processor import DomainEventsProcessor
from .....ports.event_bus import EventBus
from .....ports.handlers import HandlerSpec, RetryPolicy
from ...domain.reporting.events import WeeklyReportDue
from ...ports.repositories import AppointmentRepository
from .weekly import CompileWeeklyReport

REPORT_QUEUE: Final = "report"
REPORT_TIMEOUT: Final = timedelta(minutes=15)
REPORT_RETRY: Final = RetryPolicy(
    max_retries=3, min_backoff=timedelta(minutes=1), max_backoff=timedelta(minutes=10)
)


class Names:
    """The stable handler names of reporting."""

    COMPILE_WEEKLY: Final = "report.compile_weekly"


def register_report_handlers(
    processor: DomainEventsProcessor,
    *,
    appointments: AppointmentRepository,
    event_bus: EventBus,
) -> tuple[HandlerSpec, ...]:
    """Register the reporting handler on ``processor``; returns its spec (call once)."""
    return (
        processor.register_handler(
            WeeklyReportDue,
            CompileWeeklyReport(appointments, event_bus),
            name=Names.COMPILE_WEEKLY,
            queue=REPORT_QUEUE,
            retry=REPORT_RETRY,
            timeout=REPORT_TIMEOUT,
        ),
    )
