"""What the booking domain tells people: each notification's channel, key, subject and text.

Kept apart from the handlers so the wording can change without touching delivery, and so each
template's name (the last part of the notification key) is written once. Keys are
``<event_id>:<template>``: one message per event and purpose, whatever the retries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from ...domain.booking.appointment import Appointment
from ...domain.booking.events import (
    AppointmentCancelled,
    AppointmentCreated,
    AppointmentNoShow,
    AppointmentReminderDue,
    InvoiceIssued,
    PaymentSucceeded,
)
from ...ports.notifier import Channel, Notification
from ..notifications import addressed, notification_key, route, when

__all__ = ["notification_key", "route"]

PATIENT_CONFIRMATION: Final = "appointment_confirmation"
PATIENT_WHATSAPP: Final = "appointment_whatsapp"
DOCTOR_NEW_APPOINTMENT: Final = "doctor_new_appointment"
PATIENT_CANCELLATION: Final = "cancellation_patient"
DOCTOR_CANCELLATION: Final = "cancellation_doctor"
PAYMENT_RECEIPT: Final = "payment_receipt"
INVOICE_ISSUED: Final = "invoice_issued"
NO_SHOW: Final = "no_show"


def reminder_template(hours_before: int) -> str:
    """``appointment_reminder_24h`` or ``appointment_reminder_1h``."""
    return f"appointment_reminder_{hours_before}h"


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:.2f}"


def patient_confirmation(event: AppointmentCreated) -> Notification:
    """Tells the patient the appointment is booked and how much to pay to confirm it."""
    return addressed(
        event.patient,
        event,
        PATIENT_CONFIRMATION,
        "Your appointment is booked",
        f"Hello {event.patient.name}, your appointment with {event.doctor.name} on "
        f"{when(event.starts_at)} is booked. Pay {_money(event.price, event.currency)} to "
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
        body=f"Booked: {event.doctor.name}, {when(event.starts_at)}.",
        key=notification_key(event, PATIENT_WHATSAPP),
    )


def doctor_new_appointment(event: AppointmentCreated) -> Notification:
    """Tells the doctor a patient booked them."""
    return addressed(
        event.doctor,
        event,
        DOCTOR_NEW_APPOINTMENT,
        "New appointment",
        f"{event.patient.name} booked you on {when(event.starts_at)} "
        f"(appointment {event.appointment_id}).",
    )


def cancellation(event: AppointmentCancelled, recipient: str) -> Notification:
    """Tells the patient or the doctor (``recipient``) that the appointment is off."""
    if recipient == "patient":
        contact, template = event.patient, PATIENT_CANCELLATION
        body = (
            f"Hello {event.patient.name}, your appointment with {event.doctor.name} on "
            f"{when(event.starts_at)} is cancelled ({event.reason})."
        )
    else:
        contact, template = event.doctor, DOCTOR_CANCELLATION
        body = (
            f"The appointment with {event.patient.name} on {when(event.starts_at)} is "
            f"cancelled by the {event.cancelled_by} ({event.reason})."
        )
    return addressed(contact, event, template, "Appointment cancelled", body)


def payment_receipt(event: PaymentSucceeded, appointment: Appointment) -> Notification:
    """The patient's receipt for a payment."""
    return addressed(
        appointment.patient,
        event,
        PAYMENT_RECEIPT,
        "Payment receipt",
        f"We received {_money(event.amount, event.currency)} for your appointment on "
        f"{when(appointment.starts_at)} (payment {event.payment_id}, {event.provider}).",
    )


def invoice_issued(event: InvoiceIssued) -> Notification:
    """Tells the patient an invoice is issued, its total and due date."""
    return addressed(
        event.patient,
        event,
        INVOICE_ISSUED,
        f"Invoice {event.invoice_id}",
        f"Hello {event.patient.name}, invoice {event.invoice_id} for "
        f"{_money(event.total, event.currency)} is due on {event.due_on.isoformat()}.",
    )


def reminder(event: AppointmentReminderDue) -> Notification:
    """Reminds the patient of the appointment, a day or an hour before."""
    soon = "tomorrow" if event.hours_before >= 24 else "in one hour"
    return addressed(
        event.patient,
        event,
        reminder_template(event.hours_before),
        f"Reminder: your appointment {soon}",
        f"Hello {event.patient.name}, a reminder of your appointment with {event.doctor.name} "
        f"on {when(event.starts_at)}.",
    )


def no_show(event: AppointmentNoShow) -> Notification:
    """Tells the patient they were missed, and how to book again."""
    return addressed(
        event.patient,
        event,
        NO_SHOW,
        "We missed you",
        f"Hello {event.patient.name}, we missed you at your appointment with "
        f"{event.doctor.name} on {when(event.starts_at)}. Reply to book another time.",
    )
