"""The booking domain's handlers: plain callables taking one event.

Each is a small class whose dependencies (ports) arrive in ``__init__`` from the composition
root and whose ``__call__`` takes the event, so a test builds one with fakes and calls it.
Every one of them may run more than once for the same event (at-least-once delivery, retries
after a partial failure), so each is safe to repeat: notifications carry a key derived from the
event, confirming is a no-op the second time, and a consequence is published with an id
derived from its cause.
"""

from __future__ import annotations

from typing import Literal

from ...domain.booking.events import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    InvoiceIssued,
    PaymentSucceeded,
)
from ...ports.clock import Clock
from ...ports.event_bus import EventBus
from ...ports.notifier import Notifier
from ...ports.repositories import AppointmentRepository
from . import messages
from .event_ids import caused_event_id


class SendPatientConfirmation:
    """AppointmentCreated: tell the patient it is booked (email, or SMS without one)."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: AppointmentCreated) -> None:
        self.notifier.send(messages.patient_confirmation(event))


class SendPatientWhatsApp:
    """AppointmentCreated: the same news by WhatsApp, when the patient gave a phone number.

    A handler of its own so that the WhatsApp budget (rate limit) and WhatsApp outages touch
    nothing else.
    """

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: AppointmentCreated) -> None:
        notification = messages.patient_whatsapp(event)
        if notification is not None:
            self.notifier.send(notification)


class NotifyDoctor:
    """AppointmentCreated: tell the doctor a patient booked them."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: AppointmentCreated) -> None:
        self.notifier.send(messages.doctor_new_appointment(event))


class NotifyCancellation:
    """AppointmentCancelled: tell one party, the patient or the doctor.

    Registered twice, once per party, so a doctor's unreachable address never holds back (or
    repeats) the patient's message.
    """

    def __init__(self, notifier: Notifier, recipient: Literal["patient", "doctor"]) -> None:
        self.notifier = notifier
        self.recipient = recipient

    def __call__(self, event: AppointmentCancelled) -> None:
        self.notifier.send(messages.cancellation(event, self.recipient))


class SendReceipt:
    """PaymentSucceeded: send the patient a receipt (the contact comes from the appointment)."""

    def __init__(self, notifier: Notifier, appointments: AppointmentRepository) -> None:
        self.notifier = notifier
        self.appointments = appointments

    def __call__(self, event: PaymentSucceeded) -> None:
        appointment = self.appointments.get(event.appointment_id)
        self.notifier.send(messages.payment_receipt(event, appointment))


class ConfirmAppointment:
    """PaymentSucceeded: PENDING to CONFIRMED, then publish AppointmentConfirmed.

    Safe to run again: confirming with the same payment changes nothing, and the
    AppointmentConfirmed event's id derives from the payment event, so publishing it again
    (because the first run crashed after saving) is reported as a duplicate. It is published
    every time rather than only on a change for exactly that case.
    """

    def __init__(
        self, appointments: AppointmentRepository, event_bus: EventBus, clock: Clock
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock

    def __call__(self, event: PaymentSucceeded) -> None:
        appointment = self.appointments.get(event.appointment_id)
        if appointment.confirm(event.payment_id):
            self.appointments.save(appointment)
        self.event_bus.publish(
            AppointmentConfirmed(
                event_id=caused_event_id(event, AppointmentConfirmed.event_type),
                occurred_at=self.clock.now(),
                appointment_id=appointment.id,
                payment_id=event.payment_id,
                **event.caused(),
            )
        )


class SendInvoice:
    """InvoiceIssued: tell the patient the invoice is out."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: InvoiceIssued) -> None:
        self.notifier.send(messages.invoice_issued(event))
