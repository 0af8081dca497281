"""Booking, cancelling and invoicing, end to end on the in-memory bus.

Each use case stores its change and publishes its event; the registered handlers send the
notifications the clinic promises, keyed ``<event_id>:<template>``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hexbus import InvalidEvent
from hexbus.examples.clinic.domain.booking import (
    AppointmentCancelled,
    AppointmentCreated,
    AppointmentStatus,
    Contact,
    InvoiceIssued,
    InvoiceLine,
)
from hexbus.examples.clinic.domain.errors import AppointmentNotFound, InvalidTransition
from hexbus.examples.clinic.ports import Channel

from .conftest import DOCTOR, NOW, PATIENT, Booking


def test_booking_stores_a_pending_appointment_and_publishes_appointment_created(
    booking: Booking,
) -> None:
    booking.book_one("apt-1")
    assert booking.appointments.get("apt-1").status is AppointmentStatus.PENDING
    created = booking.bus.assert_published(AppointmentCreated, appointment_id="apt-1")
    assert created.patient == PATIENT
    assert created.clinic_id == "clinic-1"
    assert created.occurred_at == NOW, "events carry the injected clock's time"


def test_booking_confirms_to_the_patient_and_notifies_the_doctor(booking: Booking) -> None:
    booking.book_one("apt-1")
    event_id = booking.bus.assert_published(AppointmentCreated).event_id
    confirmation = booking.sent.get(f"{event_id}:appointment_confirmation")
    assert (confirmation.channel, confirmation.to) == (Channel.EMAIL, PATIENT.email)
    whatsapp = booking.sent.get(f"{event_id}:appointment_whatsapp")
    assert (whatsapp.channel, whatsapp.to) == (Channel.WHATSAPP, PATIENT.phone)
    doctor = booking.sent.get(f"{event_id}:doctor_new_appointment")
    assert (doctor.channel, doctor.to) == (Channel.EMAIL, DOCTOR.email)
    assert "Ana Lopez" in doctor.body
    assert len(booking.sent) == 3


def test_a_patient_without_email_is_confirmed_by_sms_and_whatsapp(booking: Booking) -> None:
    booking.book_one(patient=Contact(name="Carla", phone="+34611"))
    assert [(n.channel, n.to) for n in booking.sent.to("+34611")] == [
        (Channel.SMS, "+34611"),
        (Channel.WHATSAPP, "+34611"),
    ]


def test_a_patient_without_phone_gets_no_whatsapp(booking: Booking) -> None:
    booking.book_one(patient=Contact(name="Ben", email="ben@example.com"))
    assert booking.sent.on(Channel.WHATSAPP) == []
    assert len(booking.sent.to("ben@example.com")) == 1


def test_an_invalid_booking_stores_and_publishes_nothing(booking: Booking) -> None:
    with pytest.raises(InvalidEvent, match="currency"):
        booking.book(
            appointment_id="apt-1",
            patient_id="pat-1",
            patient=PATIENT,
            doctor_id="doc-1",
            doctor=DOCTOR,
            clinic_id="clinic-1",
            starts_at=NOW,
            price=Decimal("60.00"),
            currency="euros",
        )
    assert len(booking.appointments) == 0
    assert booking.bus.published == ()


def test_cancelling_notifies_patient_and_doctor(booking: Booking) -> None:
    booking.book_one("apt-1")
    booking.cancel("apt-1", reason="patient is travelling", by="patient")
    cancelled = booking.bus.assert_published(AppointmentCancelled, appointment_id="apt-1")
    assert (cancelled.reason, cancelled.cancelled_by) == ("patient is travelling", "patient")
    patient = booking.sent.get(f"{cancelled.event_id}:cancellation_patient")
    doctor = booking.sent.get(f"{cancelled.event_id}:cancellation_doctor")
    assert (patient.to, doctor.to) == (PATIENT.email, DOCTOR.email)
    assert "patient is travelling" in patient.body
    assert booking.appointments.get("apt-1").status is AppointmentStatus.CANCELLED


def test_cancelling_twice_raises_and_publishes_nothing_more(booking: Booking) -> None:
    booking.book_one("apt-1")
    booking.cancel("apt-1", reason="patient is travelling", by="patient")
    with pytest.raises(InvalidTransition):
        booking.cancel("apt-1", reason="again", by="clinic")
    assert booking.bus.count(AppointmentCancelled) == 1


def test_cancelling_an_unknown_appointment_raises_not_found(booking: Booking) -> None:
    with pytest.raises(AppointmentNotFound):
        booking.cancel("apt-404", reason="x", by="clinic")


def test_issuing_an_invoice_stores_it_publishes_and_notifies_the_patient(
    booking: Booking,
) -> None:
    invoice = booking.issue_invoice(
        invoice_id="inv-1",
        patient_id="pat-1",
        patient=PATIENT,
        lines=[InvoiceLine(description="Consultation", quantity=2, unit_price=Decimal("30.00"))],
        currency="EUR",
        due_on=date(2026, 3, 31),
    )
    assert booking.invoices.get("inv-1") == invoice
    assert invoice.issued_at == NOW
    issued = booking.bus.assert_published(InvoiceIssued, invoice_id="inv-1")
    assert issued.total == Decimal("60.00")
    notification = booking.sent.get(f"{issued.event_id}:invoice_issued")
    assert notification.to == PATIENT.email
    assert "EUR 60.00" in notification.body
    assert "2026-03-31" in notification.body


def test_an_invoice_without_lines_is_refused(booking: Booking) -> None:
    with pytest.raises(InvalidEvent, match="needs at least one line"):
        booking.issue_invoice(
            patient_id="pat-1", patient=PATIENT, lines=[], currency="EUR", due_on=date(2026, 3, 31)
        )
    assert len(booking.invoices) == 0


def test_ids_are_generated_when_not_given(booking: Booking) -> None:
    appointment = booking.book(
        patient_id="pat-1",
        patient=PATIENT,
        doctor_id="doc-1",
        doctor=DOCTOR,
        clinic_id="clinic-1",
        starts_at=NOW,
        price=Decimal("60.00"),
        currency="EUR",
    )
    assert appointment.id.startswith("apt-")
    assert booking.appointments.get(appointment.id) == appointment
