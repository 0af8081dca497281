"""The weekly report: each clinic's appointments of the past week, counted by outcome.

The week reported is the seven days before the tick (Monday 07:00 UTC), measured from the
tick's time so a report compiled late still covers the week it was for. One
:class:`WeeklyReportCompiled` per clinic, with an id derived from the tick and the clinic: a
rerun publishes duplicates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Final

from .....application.event_ids import caused_event_id
from .....application.recurring import RecurringSchedule, RecurringScheduler, Tick
from .....ports.event_bus import EventBus
from .....ports.schedules import CatchUp
from ...domain.booking.appointment import Appointment, AppointmentStatus
from ...domain.reporting.events import WeeklyReportCompiled, WeeklyReportDue
from ...ports.repositories import AppointmentRepository

WEEK: Final = timedelta(days=7)
WEEKLY_REPORT: Final = "report.weekly"


class CompileWeeklyReport:
    """WeeklyReportDue: publish one :class:`WeeklyReportCompiled` per clinic with bookings."""

    def __init__(self, appointments: AppointmentRepository, event_bus: EventBus) -> None:
        self.appointments = appointments
        self.event_bus = event_bus

    def __call__(self, event: WeeklyReportDue) -> None:
        end = event.occurred_at
        start = end - WEEK
        by_clinic: defaultdict[str, list[Appointment]] = defaultdict(list)
        for appointment in self.appointments.starting_between(start, end):
            by_clinic[appointment.clinic_id].append(appointment)
        for clinic_id, booked in sorted(by_clinic.items()):
            counts = Counter(a.status for a in booked)
            self.event_bus.publish(
                WeeklyReportCompiled(
                    event_id=caused_event_id(event, WeeklyReportCompiled.event_type, clinic_id),
                    occurred_at=end,
                    clinic_id=clinic_id,
                    week_start=start,
                    week_end=end,
                    booked=len(booked),
                    unpaid=counts[AppointmentStatus.PENDING],
                    confirmed=counts[AppointmentStatus.CONFIRMED],
                    attended=counts[AppointmentStatus.ATTENDED],
                    no_shows=counts[AppointmentStatus.NO_SHOW],
                    cancelled=counts[AppointmentStatus.CANCELLED],
                    **event.caused(),
                )
            )


def weekly_report(tick: Tick) -> WeeklyReportDue:
    """The tick's event: its id and time are the tick's (so it fires once everywhere)."""
    return WeeklyReportDue(event_id=tick.event_id, occurred_at=tick.at)


def register_report_schedules(recurring: RecurringScheduler) -> tuple[RecurringSchedule, ...]:
    """Add the weekly report (Mondays 07:00 UTC, caught up once if missed) to ``recurring``."""
    return (
        recurring.add(
            RecurringSchedule(
                name=WEEKLY_REPORT,
                cron="0 7 * * 1",
                make_event=weekly_report,
                catch_up=CatchUp.RUN_ONCE,
                description="each clinic's appointments of the past week, by outcome",
            )
        ),
    )
