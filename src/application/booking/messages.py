"""What the booking domain tells people: each notification's channel, key, subject and text.

Kept apart from the handlers so the wording can change without touching delivery, and so each
template's name (the last part of the notification key) is written once. Keys are
``<event_id>:<template>``: one message per event and purpose, whatever the retries.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final

from ...domain.booking.appointment import Appointment
from ...domain.booking.events import (
    AppointmentCancelled,
    AppointmentCreated,
    Contact,
    InvoiceIssued,
    PaymentSucceeded,
)
from ...domain.events import DomainEvent
from ...ports.notifier import Channel, Notification

PATIENT_CONFIRMATION: Final = "appointment_confirmation"
PATIENT_WHATSAPP: Final = "appointment_whatsapp"
DOCTOR_NEW_APPOINTMENT: Final = "doctor_new_appointment"
PATIENT_CANCELLATION: Final = "cancellation_patient"
DOCTOR_CANCELLATION: Final = "cancellation_doctor"
PAYMENT_RECEIPT: Final = "payment_receipt"
INVOICE_ISSUED: Final = "invoice_issued"


def notification_key(event: DomainEvent, template: str) -> str:
    """``<event_id>:<template>``: the same for every attempt at the same message."""
    return f"{event.event_id}:{template}"


def route(contact: Contact) -> tuple[Channel, str]:
    """The channel and address to reach ``contact``: email when there is one, else SMS."""
    if contact.email:
        return Channel.EMAIL, contact.email
    assert contact.phone is not None  # a Contact has an email or a phone
    return Channel.SMS, contact.phone


def _when(moment: datetime) -> str:
    return moment.strftime("%a %d %b %Y at %H:%M UTC")


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:.2f}"


def _to(
    contact: Contact, event: DomainEvent, template: str, subject: str, body: str
) -> Notification:
    channel, address = route(contact)
    return Notification(
        channel=channel,
        to=address,
        subject=subject,
        body=body,
        key=notification_key(event, template),
    )


def patient_confirmation(event: AppointmentCreated) -> Notification:
    """Tells the patient the appointment is booked and how much to pay to confirm it."""
    return _to(
        event.patient,
        event,
        PATIENT_CONFIRMATION,
        "Your appointment is booked",
        f"Hello {event.patient.name}, your appointment with {event.doctor.name} on "
        f"{_when(event.starts_at)} is booked. Pay {_money(event.price, event.currency)} to "
        "confirm it.",
    )


def patient_whatsapp(event: AppointmentCreated) -> Notification | None:
    """The same news by WhatsApp, for a patient with a phone number (None otherwise)."""
    if not event.patient.phone:
        return None
    return Notification(
        channel=Channel.WHATSAPP,
        to=event.patient.phone,
        subject="",
        body=f"Booked: {event.doctor.name}, {_when(event.starts_at)}.",
        key=notification_key(event, PATIENT_WHATSAPP),
    )


def doctor_new_appointment(event: AppointmentCreated) -> Notification:
    """Tells the doctor a patient booked them."""
    return _to(
        event.doctor,
        event,
        DOCTOR_NEW_APPOINTMENT,
        "New appointment",
        f"{event.patient.name} booked you on {_when(event.starts_at)} "
        f"(appointment {event.appointment_id}).",
    )


def cancellation(event: AppointmentCancelled, recipient: str) -> Notification:
    """Tells the patient or the doctor (``recipient``) that the appointment is off."""
    if recipient == "patient":
        contact, template = event.patient, PATIENT_CANCELLATION
        body = (
            f"Hello {event.patient.name}, your appointment with {event.doctor.name} on "
            f"{_when(event.starts_at)} is cancelled ({event.reason})."
        )
    else:
        contact, template = event.doctor, DOCTOR_CANCELLATION
        body = (
            f"The appointment with {event.patient.name} on {_when(event.starts_at)} is "
            f"cancelled by the {event.cancelled_by} ({event.reason})."
        )
    return _to(contact, event, template, "Appointment cancelled", body)


def payment_receipt(event: PaymentSucceeded, appointment: Appointment) -> Notification:
    """The patient's receipt for a payment."""
    return _to(
        appointment.patient,
        event,
        PAYMENT_RECEIPT,
        "Payment receipt",
        f"We received {_money(event.amount, event.currency)} for your appointment on "
        f"{_when(appointment.starts_at)} (payment {event.payment_id}, {event.provider}).",
    )


def invoice_issued(event: InvoiceIssued) -> Notification:
    """Tells the patient an invoice is issued, its total and due date."""
    return _to(
        event.patient,
        event,
        INVOICE_ISSUED,
        f"Invoice {event.invoice_id}",
        f"Hello {event.patient.name}, invoice {event.invoice_id} for "
        f"{_money(event.total, event.currency)} is due on {event.due_on.isoformat()}.",
    )
