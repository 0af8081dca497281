"""The in-memory repositories behave like a database: copies in, copies out, ids unique."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hexbus.examples.clinic.adapters import InMemoryAppointmentRepository, InMemoryInvoiceRepository
from hexbus.examples.clinic.domain.booking import (
    Appointment,
    AppointmentStatus,
    Contact,
    Invoice,
    InvoiceLine,
)
from hexbus.examples.clinic.domain.errors import AlreadyExists, AppointmentNotFound, InvoiceNotFound

ANA = Contact(name="Ana", email="ana@example.com")


def appointment(appointment_id: str = "apt-1") -> Appointment:
    return Appointment(
        id=appointment_id,
        patient_id="pat-1",
        patient=ANA,
        doctor_id="doc-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id="clinic-1",
        starts_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        price=Decimal("60.00"),
        currency="EUR",
    )


def test_a_change_is_not_stored_until_saved() -> None:
    repository = InMemoryAppointmentRepository()
    repository.add(appointment())
    loaded = repository.get("apt-1")
    loaded.confirm("txn-1")
    assert repository.get("apt-1").status is AppointmentStatus.PENDING
    repository.save(loaded)
    assert repository.get("apt-1").status is AppointmentStatus.CONFIRMED


def test_changing_the_added_object_does_not_change_the_stored_one() -> None:
    repository = InMemoryAppointmentRepository()
    original = appointment()
    repository.add(original)
    original.confirm("txn-1")
    assert repository.get("apt-1").status is AppointmentStatus.PENDING


def test_adding_a_taken_appointment_id_raises_already_exists() -> None:
    repository = InMemoryAppointmentRepository()
    repository.add(appointment())
    with pytest.raises(AlreadyExists, match="appointment 'apt-1' already exists"):
        repository.add(appointment())


def test_unknown_appointments_raise_not_found_on_get_and_save() -> None:
    repository = InMemoryAppointmentRepository()
    with pytest.raises(AppointmentNotFound, match="'apt-9'"):
        repository.get("apt-9")
    with pytest.raises(AppointmentNotFound):
        repository.save(appointment("apt-9"))


def test_all_lists_appointments_in_booking_order() -> None:
    repository = InMemoryAppointmentRepository()
    repository.add(appointment("apt-2"))
    repository.add(appointment("apt-1"))
    assert [a.id for a in repository.all()] == ["apt-2", "apt-1"]
    assert len(repository) == 2


def test_invoices_are_stored_once_and_found_by_id() -> None:
    repository = InMemoryInvoiceRepository()
    invoice = Invoice(
        id="inv-1",
        patient_id="pat-1",
        patient=ANA,
        lines=(InvoiceLine(description="Consultation", quantity=2, unit_price=Decimal("30")),),
        currency="EUR",
        due_on=date(2026, 3, 31),
        issued_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    repository.add(invoice)
    assert repository.get("inv-1") == invoice
    assert repository.get("inv-1").total == Decimal("60")
    with pytest.raises(AlreadyExists):
        repository.add(invoice)
    with pytest.raises(InvoiceNotFound, match="'inv-2'"):
        repository.get("inv-2")
