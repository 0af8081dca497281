"""The booking domain's handlers: plain callables taking one event.

Each is a small class whose dependencies (ports) arrive in ``__init__`` from the composition
root and whose ``__call__`` takes the event, so a test builds one with fakes and calls it.
Every one of them may run more than once for the same event (at-least-once delivery, retries
after a partial failure), so each is safe to repeat: notifications carry a key derived from the
event, confirming is a no-op the second time, and a consequence is published with an id
derived from its cause.

Timers (reminders, the payment deadline) may fire after what they were set for has changed
(cancelled while already on its way to a worker), so their handlers read the appointment's
status first and do nothing when it no longer applies.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal

from .....ports.clock import Clock
from .....ports.event_bus import EventBus, EventScheduler
from .....ports.unit_of_work import UnitOfWork
from ...domain.booking.appointment import AppointmentStatus
from ...domain.booking.events import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    AppointmentNoShow,
    AppointmentPaymentDeadlinePassed,
    AppointmentReminderDue,
    InvoiceIssued,
    NoShowCheckDue,
    PaymentSucceeded,
)
from ...ports.notifier import Notifier
from ...ports.repositories import AppointmentRepository
from ..transactions import transaction
from . import messages
from .appointments import cancellation_event
from .event_ids import caused_event_id, no_show_event_id
from .timers import cancel_reminders

UNPAID_REASON: Final = "not paid in time"
NO_SHOW_GRACE: Final = timedelta(minutes=15)
"""How late a patient may check in before the appointment counts as missed."""
NO_SHOW_LOOKBACK: Final = timedelta(days=1)
"""How far back each no-show check looks, so a check that was missed is made up for."""


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
    every time rather than only on a change for exactly that case. Given a unit of work, the
    confirmation and the event commit together; registered through the inbox (the container
    does), a redelivery after the bus lost this handler's success is skipped (ADR 0021).
    """

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: EventBus,
        clock: Clock,
        *,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.clock = clock
        self.unit_of_work = unit_of_work

    def __call__(self, event: PaymentSucceeded) -> None:
        with transaction(self.unit_of_work, self.event_bus) as outgoing:
            appointment = self.appointments.get(event.appointment_id)
            if appointment.confirm(event.payment_id):
                self.appointments.save(appointment)
            outgoing.publish(
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


class SendAppointmentReminder:
    """AppointmentReminderDue: remind the patient, unless the appointment no longer happens.

    Reminders of a cancelled appointment are cancelled with it; this check covers the one that
    was already on its way to a worker when that happened.
    """

    def __init__(self, notifier: Notifier, appointments: AppointmentRepository) -> None:
        self.notifier = notifier
        self.appointments = appointments

    def __call__(self, event: AppointmentReminderDue) -> None:
        appointment = self.appointments.get(event.appointment_id)
        if appointment.status not in (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED):
            return
        if appointment.starts_at != event.starts_at:
            return  # set for a time the appointment no longer has
        self.notifier.send(messages.reminder(event))


class CancelUnpaidAppointment:
    """AppointmentPaymentDeadlinePassed: cancel the appointment if it is still unpaid.

    Paid in the meantime, or cancelled by someone else, it is left alone. Safe to run again:
    the cancellation event's id derives from the deadline event, and it is published again
    whenever the appointment stands cancelled by this rule (a run that crashed after saving).
    """

    def __init__(
        self,
        appointments: AppointmentRepository,
        event_bus: EventBus,
        scheduler: EventScheduler,
        clock: Clock,
    ) -> None:
        self.appointments = appointments
        self.event_bus = event_bus
        self.scheduler = scheduler
        self.clock = clock

    def __call__(self, event: AppointmentPaymentDeadlinePassed) -> None:
        appointment = self.appointments.get(event.appointment_id)
        if appointment.status is AppointmentStatus.PENDING:
            appointment.cancel(UNPAID_REASON, "system")
            self.appointments.save(appointment)
        elif not (
            appointment.status is AppointmentStatus.CANCELLED
            and appointment.cancelled_by == "system"
            and appointment.cancellation_reason == UNPAID_REASON
        ):
            return  # paid in time, or cancelled by the patient or the clinic
        cancel_reminders(self.scheduler, appointment.id)
        self.event_bus.publish(
            cancellation_event(
                appointment,
                self.clock.now(),
                event_id=caused_event_id(event, AppointmentCancelled.event_type),
                **event.caused(),
            )
        )


class MarkNoShows:
    """NoShowCheckDue: paid appointments that started over 15 minutes before the tick with no
    check-in become NO_SHOW, each announced by :class:`AppointmentNoShow`.

    The check looks back a day from the tick's time (``occurred_at``), so a missed tick is made
    up by the next; each no-show's event id derives from the appointment, so however many
    checks find it, it is announced once.
    """

    def __init__(self, appointments: AppointmentRepository, event_bus: EventBus) -> None:
        self.appointments = appointments
        self.event_bus = event_bus

    def __call__(self, event: NoShowCheckDue) -> None:
        until = event.occurred_at - NO_SHOW_GRACE
        for appointment in self.appointments.starting_between(until - NO_SHOW_LOOKBACK, until):
            if appointment.status is AppointmentStatus.CONFIRMED:
                appointment.mark_no_show()
                self.appointments.save(appointment)
            elif appointment.status is not AppointmentStatus.NO_SHOW:
                continue
            self.event_bus.publish(
                AppointmentNoShow(
                    event_id=no_show_event_id(appointment.id),
                    occurred_at=event.occurred_at,
                    appointment_id=appointment.id,
                    patient_id=appointment.patient_id,
                    patient=appointment.patient,
                    doctor=appointment.doctor,
                    clinic_id=appointment.clinic_id,
                    starts_at=appointment.starts_at,
                    **event.caused(),
                )
            )


class NotifyNoShow:
    """AppointmentNoShow: tell the patient they were missed and how to book again."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def __call__(self, event: AppointmentNoShow) -> None:
        self.notifier.send(messages.no_show(event))
