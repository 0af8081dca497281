"""The appointment's rules: which status changes are allowed, and which repeat harmlessly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hexbus import HexbusError, NonRetryableError
from hexbus.examples.clinic.domain.booking import Appointment, AppointmentStatus, Contact
from hexbus.examples.clinic.domain.errors import (
    BookingError,
    ClinicError,
    InvalidRecipient,
    InvalidTransition,
)


def appointment() -> Appointment:
    return Appointment(
        id="apt-1",
        patient_id="pat-1",
        patient=Contact(name="Ana", email="ana@example.com"),
        doctor_id="doc-1",
        doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
        clinic_id="clinic-1",
        starts_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        price=Decimal("60.00"),
        currency="EUR",
    )


def test_a_new_appointment_is_pending_and_unpaid() -> None:
    new = appointment()
    assert new.status is AppointmentStatus.PENDING
    assert new.payment_id is None


def test_confirming_a_pending_appointment_records_the_payment() -> None:
    pending = appointment()
    assert pending.confirm("txn-1") is True
    assert pending.status is AppointmentStatus.CONFIRMED
    assert pending.payment_id == "txn-1"


def test_confirming_again_with_the_same_payment_changes_nothing() -> None:
    confirmed = appointment()
    confirmed.confirm("txn-1")
    assert confirmed.confirm("txn-1") is False
    assert confirmed.status is AppointmentStatus.CONFIRMED
    assert confirmed.payment_id == "txn-1"


def test_confirming_with_another_payment_is_an_invalid_transition() -> None:
    confirmed = appointment()
    confirmed.confirm("txn-1")
    with pytest.raises(InvalidTransition, match="already paid by payment 'txn-1'"):
        confirmed.confirm("txn-2")
    assert confirmed.payment_id == "txn-1"


def test_a_cancelled_appointment_cannot_be_confirmed() -> None:
    cancelled = appointment()
    cancelled.cancel("no longer needed", "patient")
    with pytest.raises(InvalidTransition, match="needs a refund") as caught:
        cancelled.confirm("txn-1")
    assert caught.value.status == "cancelled"
    assert caught.value.appointment_id == "apt-1"
    assert cancelled.status is AppointmentStatus.CANCELLED


@pytest.mark.parametrize("paid", [False, True], ids=["pending", "confirmed"])
def test_pending_and_confirmed_appointments_can_be_cancelled(paid: bool) -> None:
    booked = appointment()
    if paid:
        booked.confirm("txn-1")
    booked.cancel("doctor is ill", "clinic")
    assert booked.status is AppointmentStatus.CANCELLED
    assert booked.cancellation_reason == "doctor is ill"
    assert booked.cancelled_by == "clinic"


def test_cancelling_twice_is_an_invalid_transition() -> None:
    cancelled = appointment()
    cancelled.cancel("no longer needed", "patient")
    with pytest.raises(
        InvalidTransition, match="cannot cancel appointment 'apt-1', it is cancelled"
    ):
        cancelled.cancel("again", "clinic")
    assert cancelled.cancelled_by == "patient"


def test_invalid_transition_belongs_to_the_clinic_hierarchy() -> None:
    # The clinic's errors are its own (ClinicError), not the library's: only those that want
    # a library behaviour subclass one of hexbus's (InvalidRecipient, NonRetryableError).
    assert issubclass(InvalidTransition, BookingError)
    assert issubclass(BookingError, ClinicError)
    assert not issubclass(BookingError, HexbusError)


def test_an_invalid_recipient_is_the_clinics_and_never_retried() -> None:
    assert issubclass(InvalidRecipient, ClinicError)
    assert issubclass(InvalidRecipient, NonRetryableError)
