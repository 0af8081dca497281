"""The weekly report: Mondays at 07:00, each clinic's past week by outcome, on ``report``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.schedule_state import InMemoryScheduleState
from hexbus.application import DomainEventsProcessor
from hexbus.application.recurring import RecurringScheduler
from hexbus.examples.clinic.adapters import InMemoryAppointmentRepository
from hexbus.examples.clinic.application.reporting import (
    WEEKLY_REPORT,
    CompileWeeklyReport,
    Names,
    register_report_handlers,
    register_report_schedules,
)
from hexbus.examples.clinic.domain.booking import Appointment, Contact
from hexbus.examples.clinic.domain.reporting import WeeklyReportCompiled, WeeklyReportDue

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
NEXT_MONDAY = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)


def appointment(appointment_id: str, clinic_id: str, starts_at: datetime) -> Appointment:
    return Appointment(
        id=appointment_id,
        patient_id="pat-1",
        patient=Contact(name="Ana", email="ana@example.com"),
        doctor_id="doc-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id=clinic_id,
        starts_at=starts_at,
        price=Decimal("60.00"),
        currency="EUR",
    )


@pytest.fixture
def wired() -> tuple[InMemoryEventBus, InMemoryAppointmentRepository, RecurringScheduler]:
    clock = VirtualClock(NOW)
    processor = DomainEventsProcessor()
    bus = InMemoryEventBus(processor, clock=clock)
    appointments = InMemoryAppointmentRepository()
    register_report_handlers(processor, appointments=appointments, event_bus=bus)
    recurring = RecurringScheduler(bus, InMemoryScheduleState(), clock.now)
    register_report_schedules(recurring)
    bus.add_timer(recurring)
    return bus, appointments, recurring


def test_the_report_is_due_on_mondays_at_seven(
    wired: tuple[InMemoryEventBus, InMemoryAppointmentRepository, RecurringScheduler],
) -> None:
    bus, _, recurring = wired
    (schedule,) = recurring.schedules
    assert (schedule.name, schedule.cron) == (WEEKLY_REPORT, "0 7 * * 1")
    assert recurring.next_fire(schedule) == NEXT_MONDAY
    bus.advance(NEXT_MONDAY - NOW + timedelta(days=7))
    assert [e.occurred_at for e in bus.events_of_type(WeeklyReportDue)] == [
        NEXT_MONDAY,
        NEXT_MONDAY + timedelta(days=7),
    ]
    assert bus.processor.get(Names.COMPILE_WEEKLY).queue == "report"


def test_each_clinic_gets_its_past_weeks_counts(
    wired: tuple[InMemoryEventBus, InMemoryAppointmentRepository, RecurringScheduler],
) -> None:
    bus, appointments, _ = wired
    confirmed = appointment("a1", "clinic-1", NOW + timedelta(days=1))
    confirmed.confirm("txn-1")
    attended = appointment("a2", "clinic-1", NOW + timedelta(days=2))
    attended.confirm("txn-2")
    attended.check_in(NOW + timedelta(days=2))
    cancelled = appointment("a3", "clinic-1", NOW)
    cancelled.cancel("ill", "patient")
    for item in (
        confirmed,
        attended,
        cancelled,
        appointment("a4", "clinic-2", NOW),
        appointment("old", "clinic-1", NOW - timedelta(days=10)),
        appointment("next-week", "clinic-1", NEXT_MONDAY + timedelta(hours=1)),
    ):
        appointments.add(item)
    bus.advance(NEXT_MONDAY - NOW)
    reports = {r.clinic_id: r for r in bus.events_of_type(WeeklyReportCompiled)}
    assert set(reports) == {"clinic-1", "clinic-2"}
    one = reports["clinic-1"]
    assert (one.week_start, one.week_end) == (NEXT_MONDAY - timedelta(days=7), NEXT_MONDAY)
    assert (one.booked, one.confirmed, one.attended, one.cancelled, one.unpaid) == (3, 1, 1, 1, 0)
    assert (reports["clinic-2"].booked, reports["clinic-2"].unpaid) == (1, 1)


def test_compiling_twice_publishes_each_report_once(
    wired: tuple[InMemoryEventBus, InMemoryAppointmentRepository, RecurringScheduler],
) -> None:
    bus, appointments, _ = wired
    appointments.add(appointment("a1", "clinic-1", NOW))
    tick = WeeklyReportDue(occurred_at=NEXT_MONDAY)
    compile_report = CompileWeeklyReport(appointments, bus)
    compile_report(tick)
    compile_report(tick)
    assert bus.count(WeeklyReportCompiled) == 1
