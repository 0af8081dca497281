"""The composition root wires the booking domain into every container it builds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryAppointmentRepository
from hexbus.adapters.notifiers import LoggingNotifier, RecordingNotifier
from hexbus.application.booking import Names
from hexbus.container import create_container
from hexbus.domain.booking import AppointmentStatus, Contact

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
