"""The composition root wires the booking domain into every container it builds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryAppointmentRepository
from hexbus.adapters.notifiers import LoggingNotifier, RecordingNotifier
from hexbus.application.analysis import Names as AnalysisNames
from hexbus.application.booking import Names
from hexbus.application.medicine import Names as MedicineNames
from hexbus.application.reporting import Names as ReportNames
from hexbus.application.waitlist import Names as WaitlistNames
from hexbus.container import create_container
from hexbus.domain.booking import AppointmentStatus, Contact, NoShowCheckDue
from hexbus.domain.medicine import LowStockCheckDue, MedicineExpiryCheckDue

from .test_registration import EXPECTED


def test_create_container_registers_the_booking_handlers() -> None:
    container = create_container(env={})
    names = {spec.name for spec in container.processor()}
    assert set(EXPECTED) <= names


def test_asking_for_the_booking_handlers_again_registers_nothing_new() -> None:
    container = create_container(env={})
    before = len(container.processor())
    assert container.booking() is container.booking()
    assert len(container.processor()) == before


def test_the_default_notifier_only_logs() -> None:
    assert isinstance(create_container(env={}).notifier(), LoggingNotifier)


def test_an_overriding_notifier_receives_the_handlers_notifications() -> None:
    sent = RecordingNotifier()
    clock = VirtualClock()
    container = create_container(env={}, clock=clock, notifier=sent)
    appointment = container.book_appointment()(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=Contact(name="Ana", email="ana@example.com"),
        doctor_id="doc-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id="clinic-1",
        starts_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
        price=Decimal("60.00"),
        currency="EUR",
    )
    assert {n.to for n in sent.sent} == {"ana@example.com", "ruiz@clinic.example"}
    container.handle_payment_webhook()(
        transaction_id="txn-1",
        appointment_id=appointment.id,
        amount=Decimal("60.00"),
        currency="EUR",
        provider="stripe",
    )
    appointments = container.appointments()
    assert isinstance(appointments, InMemoryAppointmentRepository)
    assert appointments.get("apt-1").status is AppointmentStatus.CONFIRMED
    assert container.in_memory_bus().succeeded(Names.CONFIRM_APPOINTMENT)


def test_use_cases_share_the_containers_repositories() -> None:
    container = create_container(env={}, clock=VirtualClock(), notifier=RecordingNotifier())
    container.book_appointment()(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=Contact(name="Ana", email="ana@example.com"),
        doctor_id="doc-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id="clinic-1",
        starts_at=datetime(2026, 3, 3, 10, tzinfo=UTC),
        price=Decimal("60.00"),
        currency="EUR",
    )
    cancelled = container.cancel_appointment()("apt-1", reason="ill", by="patient")
    assert cancelled.status is AppointmentStatus.CANCELLED


def test_create_container_registers_every_reference_context() -> None:
    names = {spec.name for spec in create_container(env={}).processor()}
    for name in (
        Names.SEND_APPOINTMENT_REMINDER,
        Names.CANCEL_UNPAID_APPOINTMENT,
        Names.MARK_NO_SHOWS,
        WaitlistNames.PASS_OFFER_ON,
        WaitlistNames.CALCULATE_PREFERENCES,
        MedicineNames.CHECK_EXPIRY,
        MedicineNames.CHECK_LOW_STOCK,
        AnalysisNames.ANALYSE,
        AnalysisNames.ANALYSE_URGENT,
        ReportNames.COMPILE_WEEKLY,
    ):
        assert name in names


def test_the_recurring_scheduler_holds_the_reference_schedules_once() -> None:
    clock = VirtualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    container = create_container(env={}, clock=clock)
    recurring = container.recurring()
    assert recurring is container.recurring()
    next_fire = {s.name: recurring.next_fire(s) for s in recurring.schedules}
    assert next_fire == {
        "booking.no_show_check": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "medicine.expiry_check": datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
        "medicine.low_stock_check": datetime(2026, 3, 3, 6, 0, tzinfo=UTC),
        "report.weekly": datetime(2026, 3, 9, 7, 0, tzinfo=UTC),
    }
    assert all(s.description for s in recurring.schedules)


def test_the_in_memory_bus_fires_the_reference_schedules_as_time_advances() -> None:
    clock = VirtualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    container = create_container(env={}, clock=clock, notifier=RecordingNotifier())
    bus = container.in_memory_bus()
    bus.advance(timedelta(days=1))
    assert bus.count(MedicineExpiryCheckDue) == 1
    assert bus.count(LowStockCheckDue) == 1
    assert bus.count(NoShowCheckDue) == 48


def test_a_queue_container_is_built_without_reaching_redis() -> None:
    # Schedules are added when the recurring scheduler is first asked for (by a scheduler
    # process), not when a worker or web process builds its container.
    container = create_container(
        env={"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert Names.CANCEL_UNPAID_APPOINTMENT in container.processor()


def test_booking_through_the_container_sets_timers_that_paying_and_cancelling_call_off() -> None:
    clock = VirtualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    container = create_container(env={}, clock=clock, notifier=RecordingNotifier())
    bus = container.in_memory_bus()
    book = container.book_appointment()
    for appointment_id in ("apt-paid", "apt-cancelled"):
        book(
            appointment_id=appointment_id,
            patient_id="pat-1",
            patient=Contact(name="Ana", email="ana@example.com"),
            doctor_id="doc-1",
            doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
            clinic_id="clinic-1",
            starts_at=datetime(2026, 3, 4, 10, tzinfo=UTC),
            price=Decimal("60.00"),
            currency="EUR",
        )
    assert len(bus.scheduled) == 6
    container.handle_payment_webhook()(
        transaction_id="txn-1",
        appointment_id="apt-paid",
        amount=Decimal("60.00"),
        currency="EUR",
        provider="stripe",
    )
    container.cancel_appointment()("apt-cancelled", reason="ill", by="patient")
    assert sorted(
        (getattr(e, "appointment_id", ""), getattr(e, "hours_before", 0)) for _, e in bus.scheduled
    ) == [("apt-paid", 1), ("apt-paid", 24)]
