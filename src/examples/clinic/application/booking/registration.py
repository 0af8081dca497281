"""Which handler runs for which booking event, on which queue, with which options.

Everything the bus needs to know about the booking handlers is in this one function, so every
process that calls it (publisher, workers, dashboard) agrees on every name and option. Names
are explicit and stable: success records, dead letters and status are keyed by them, so
renaming one orphans its in-flight work.

Queues follow the clinic's layout (``QUEUE_CONCURRENCY``): ``notification`` for messages to
people (provider-bound, retried with a long backoff), ``appointment`` for appointment state
changes. ``payment`` is
where work on the provider's side (refunds, reconciliation) would go: the webhook itself is
handled in the caller, and receiving a payment is an appointment change plus a notification.
Timers go where their work is: reminders are notifications, the payment deadline and the
no-show check change appointments.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .....application.inbox import InboxHandler
from .....application.processor import DomainEventsProcessor
from .....domain.events import DomainEvent
from .....ports.clock import Clock
from .....ports.event_bus import EventBus, EventScheduler
from .....ports.handlers import Handler, HandlerSpec, RateLimit, RetryPolicy
from .....ports.unit_of_work import Inbox, UnitOfWork
from ...domain.booking.events import (
    AppointmentCancelled,
    AppointmentCreated,
    AppointmentNoShow,
    AppointmentPaymentDeadlinePassed,
    AppointmentReminderDue,
    InvoiceIssued,
    NoShowCheckDue,
    PaymentSucceeded,
)
from ...domain.errors import AppointmentNotFound, InvalidRecipient, InvalidTransition
from ...ports.notifier import Notifier
from ...ports.repositories import AppointmentRepository
from .handlers import (
    CancelUnpaidAppointment,
    ConfirmAppointment,
    MarkNoShows,
    NotifyCancellation,
    NotifyDoctor,
    NotifyNoShow,
    SendAppointmentReminder,
    SendInvoice,
    SendPatientConfirmation,
    SendPatientWhatsApp,
    SendReceipt,
)

NOTIFICATION_QUEUE: Final = "notification"
APPOINTMENT_QUEUE: Final = "appointment"

NOTIFICATION_RETRY: Final = RetryPolicy(
    max_retries=4,
    min_backoff=timedelta(seconds=10),
    max_backoff=timedelta(minutes=10),
    non_retryable=(InvalidRecipient, AppointmentNotFound),
)
"""A provider outage lasts minutes, not milliseconds: 10 s, 20 s, 40 s, 80 s, then a dead
letter. An unreachable recipient (or a receipt for an unknown appointment) is not retried."""

STATE_RETRY: Final = RetryPolicy(
    max_retries=5,
    min_backoff=timedelta(seconds=1),
    max_backoff=timedelta(minutes=1),
    non_retryable=(InvalidTransition, AppointmentNotFound),
)
"""State changes retry quickly (a storage hiccup); a broken rule goes to a person at once."""

NOTIFICATION_TIMEOUT: Final = timedelta(seconds=30)
STATE_TIMEOUT: Final = timedelta(seconds=10)

WHATSAPP_LIMIT: Final = RateLimit(
    name="whatsapp", limit=10, period=timedelta(minutes=1), key="clinic_id"
)
"""WhatsApp's business API throttles per sender: at most 10 messages a minute per clinic."""


class Names:
    """The stable handler names, for tests and operators (``hexbus handlers``)."""

    SEND_PATIENT_CONFIRMATION: Final = "booking.send_patient_confirmation"
    SEND_PATIENT_WHATSAPP: Final = "booking.send_patient_whatsapp"
    NOTIFY_DOCTOR: Final = "booking.notify_doctor"
    NOTIFY_PATIENT_OF_CANCELLATION: Final = "booking.notify_patient_of_cancellation"
    NOTIFY_DOCTOR_OF_CANCELLATION: Final = "booking.notify_doctor_of_cancellation"
    SEND_RECEIPT: Final = "booking.send_receipt"
    CONFIRM_APPOINTMENT: Final = "booking.confirm_appointment"
    SEND_INVOICE: Final = "booking.send_invoice"
    SEND_APPOINTMENT_REMINDER: Final = "booking.send_appointment_reminder"
    CANCEL_UNPAID_APPOINTMENT: Final = "booking.cancel_unpaid_appointment"
    MARK_NO_SHOWS: Final = "booking.mark_no_shows"
    NOTIFY_NO_SHOW: Final = "booking.notify_no_show"


def register_booking_handlers(
    processor: DomainEventsProcessor,
    *,
    notifier: Notifier,
    appointments: AppointmentRepository,
    event_bus: EventBus,
    scheduler: EventScheduler,
    clock: Clock,
    unit_of_work: UnitOfWork | None = None,
    inbox: Inbox | None = None,
) -> tuple[HandlerSpec, ...]:
    """Register every booking handler on ``processor``; returns their specs.

    Given a unit of work and an inbox (the container gives both), the payment confirmation and
    the invoice notification run through the inbox: each in one transaction with its
    (event_id, handler) record, so a redelivery after a lost success is skipped (ADR 0021).

    Call it once per processor (a second call finds the names taken and raises
    :class:`HandlerRegistrationError`).
    """

    def once(handler: Handler, name: str) -> Handler:
        if unit_of_work is None or inbox is None:
            return handler
        return InboxHandler(handler, name=name, unit_of_work=unit_of_work, inbox=inbox)

    def notification(
        event_type: type[DomainEvent],
        handler: Handler,
        name: str,
        rate_limit: RateLimit | None = None,
    ) -> None:
        specs.append(
            processor.register_handler(
                event_type,
                handler,
                name=name,
                queue=NOTIFICATION_QUEUE,
                retry=NOTIFICATION_RETRY,
                timeout=NOTIFICATION_TIMEOUT,
                rate_limit=rate_limit,
            )
        )

    def state_change(event_type: type[DomainEvent], handler: Handler, name: str) -> None:
        specs.append(
            processor.register_handler(
                event_type,
                handler,
                name=name,
                queue=APPOINTMENT_QUEUE,
                retry=STATE_RETRY,
                timeout=STATE_TIMEOUT,
            )
        )

    specs: list[HandlerSpec] = []
    notification(
        AppointmentCreated, SendPatientConfirmation(notifier), Names.SEND_PATIENT_CONFIRMATION
    )
    notification(
        AppointmentCreated,
        SendPatientWhatsApp(notifier),
        Names.SEND_PATIENT_WHATSAPP,
        rate_limit=WHATSAPP_LIMIT,
    )
    notification(AppointmentCreated, NotifyDoctor(notifier), Names.NOTIFY_DOCTOR)
    notification(
        AppointmentCancelled,
        NotifyCancellation(notifier, "patient"),
        Names.NOTIFY_PATIENT_OF_CANCELLATION,
    )
    notification(
        AppointmentCancelled,
        NotifyCancellation(notifier, "doctor"),
        Names.NOTIFY_DOCTOR_OF_CANCELLATION,
    )
    notification(PaymentSucceeded, SendReceipt(notifier, appointments), Names.SEND_RECEIPT)
    state_change(
        PaymentSucceeded,
        once(
            ConfirmAppointment(appointments, event_bus, clock, unit_of_work=unit_of_work),
            Names.CONFIRM_APPOINTMENT,
        ),
        Names.CONFIRM_APPOINTMENT,
    )
    notification(InvoiceIssued, once(SendInvoice(notifier), Names.SEND_INVOICE), Names.SEND_INVOICE)
    notification(
        AppointmentReminderDue,
        SendAppointmentReminder(notifier, appointments),
        Names.SEND_APPOINTMENT_REMINDER,
    )
    state_change(
        AppointmentPaymentDeadlinePassed,
        CancelUnpaidAppointment(appointments, event_bus, scheduler, clock),
        Names.CANCEL_UNPAID_APPOINTMENT,
    )
    state_change(NoShowCheckDue, MarkNoShows(appointments, event_bus), Names.MARK_NO_SHOWS)
    notification(AppointmentNoShow, NotifyNoShow(notifier), Names.NOTIFY_NO_SHOW)
    return tuple(specs)
