"""The clinic's composition root: ``register`` and ``build_clinic`` wire it onto hexbus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hexbus import HandlerRegistrationError
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.dramatiq import handler_queues
from hexbus.container import create_container
from hexbus.examples.clinic import QUEUE_CONCURRENCY, build_clinic, register
from hexbus.examples.clinic.adapters import InMemoryAppointmentRepository
from hexbus.examples.clinic.adapters.notifiers import LoggingNotifier, RecordingNotifier
from hexbus.examples.clinic.application.analysis import Names as AnalysisNames
from hexbus.examples.clinic.application.booking import Names
from hexbus.examples.clinic.application.medicine import Names as MedicineNames
from hexbus.examples.clinic.application.reporting import Names as ReportNames
from hexbus.examples.clinic.application.waitlist import Names as WaitlistNames
from hexbus.examples.clinic.domain.booking import AppointmentStatus, Contact, NoShowCheckDue
from hexbus.examples.clinic.domain.medicine import LowStockCheckDue, MedicineExpiryCheckDue

from .booking.test_registration import EXPECTED


def test_register_registers_the_booking_handlers() -> None:
    container = create_container(env={})
    register(container)
    names = {spec.name for spec in container.processor()}
    assert set(EXPECTED) <= names


def test_create_container_alone_registers_nothing_of_the_clinic() -> None:
    container = create_container(env={})
    assert len(container.processor()) == 0
    assert container.recurring().schedules == ()
    assert dict(container.processor().queue_concurrency) == {}


def test_asking_for_the_booking_handlers_again_registers_nothing_new() -> None:
    container = create_container(env={})
    clinic = build_clinic(container)
    before = len(container.processor())
    assert clinic.booking() is clinic.booking()
    assert len(container.processor()) == before


def test_wiring_the_clinic_twice_onto_one_container_is_refused() -> None:
    container = create_container(env={})
    register(container)
    with pytest.raises(HandlerRegistrationError):
        register(container)


def test_the_default_notifier_only_logs() -> None:
    assert isinstance(build_clinic(create_container(env={})).notifier(), LoggingNotifier)


def test_an_overriding_notifier_receives_the_handlers_notifications() -> None:
    sent = RecordingNotifier()
    clock = VirtualClock()
    container = create_container(env={}, clock=clock)
    clinic = build_clinic(container, notifier=sent)
    appointment = clinic.book_appointment()(
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
    clinic.handle_payment_webhook()(
        transaction_id="txn-1",
        appointment_id=appointment.id,
        amount=Decimal("60.00"),
        currency="EUR",
        provider="stripe",
    )
    appointments = clinic.appointments()
    assert isinstance(appointments, InMemoryAppointmentRepository)
    assert appointments.get("apt-1").status is AppointmentStatus.CONFIRMED
    assert container.in_memory_bus().succeeded(Names.CONFIRM_APPOINTMENT)


def test_given_repositories_are_the_ones_the_use_cases_and_handlers_use() -> None:
    appointments = InMemoryAppointmentRepository()
    container = create_container(env={}, clock=VirtualClock())
    clinic = build_clinic(container, notifier=RecordingNotifier(), appointments=appointments)
    assert clinic.appointments() is appointments
    clinic.book_appointment()(
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
    assert appointments.get("apt-1").status is AppointmentStatus.PENDING


def test_use_cases_share_the_containers_repositories() -> None:
    container = create_container(env={}, clock=VirtualClock())
    clinic = build_clinic(container, notifier=RecordingNotifier())
    clinic.book_appointment()(
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
    cancelled = clinic.cancel_appointment()("apt-1", reason="ill", by="patient")
    assert cancelled.status is AppointmentStatus.CANCELLED


def test_register_registers_every_clinic_context() -> None:
    container = create_container(env={})
    register(container)
    names = {spec.name for spec in container.processor()}
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


def test_register_declares_the_clinics_queue_concurrency() -> None:
    container = create_container(env={})
    register(container)
    assert dict(container.processor().queue_concurrency) == {
        "payment": 5,
        "notification": 10,
        "appointment": 5,
        "appointment.low": 1,
        "medicine": 3,
        "ai-processing": 2,
        "ai-processing.high": 1,
        "report": 1,
    }
    assert dict(QUEUE_CONCURRENCY) == dict(container.processor().queue_concurrency)


def test_every_queue_a_clinic_handler_uses_is_declared() -> None:
    container = create_container(env={})
    register(container)
    declared = container.processor().queue_concurrency
    assert set(handler_queues(container.processor())) <= set(declared)


def test_the_recurring_scheduler_holds_the_clinic_schedules_once() -> None:
    clock = VirtualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    container = create_container(env={}, clock=clock)
    register(container)
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


def test_the_in_memory_bus_fires_the_clinic_schedules_as_time_advances() -> None:
    # The schedules are added after create_container hooked the scheduler to the bus.
    clock = VirtualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    container = create_container(env={}, clock=clock)
    build_clinic(container, notifier=RecordingNotifier())
    bus = container.in_memory_bus()
    bus.advance(timedelta(days=1))
    assert bus.count(MedicineExpiryCheckDue) == 1
    assert bus.count(LowStockCheckDue) == 1
    assert bus.count(NoShowCheckDue) == 48


def test_a_queue_container_is_built_and_the_clinic_registered_without_reaching_redis() -> None:
    # Nothing listens on port 1: registering handlers, queues and schedules must not connect
    # (a worker or web process is built this way; only a scheduler reads the schedule state).
    container = create_container(
        env={"USE_QUEUE_EVENT_BUS": "true", "REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    register(container)
    assert Names.CANCEL_UNPAID_APPOINTMENT in container.processor()
    assert len(container.recurring().schedules) == 4
    assert container.processor().queue_concurrency["notification"] == 10


def test_booking_through_the_container_sets_timers_that_paying_and_cancelling_call_off() -> None:
    clock = VirtualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    container = create_container(env={}, clock=clock)
    clinic = build_clinic(container, notifier=RecordingNotifier())
    bus = container.in_memory_bus()
    book = clinic.book_appointment()
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
    clinic.handle_payment_webhook()(
        transaction_id="txn-1",
        appointment_id="apt-paid",
        amount=Decimal("60.00"),
        currency="EUR",
        provider="stripe",
    )
    clinic.cancel_appointment()("apt-cancelled", reason="ill", by="patient")
    assert sorted(
        (getattr(e, "appointment_id", ""), getattr(e, "hours_before", 0)) for _, e in bus.scheduled
    ) == [("apt-paid", 1), ("apt-paid", 24)]
