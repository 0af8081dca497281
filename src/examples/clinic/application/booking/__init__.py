"""The clinic's booking use cases, handlers, timers and recurring jobs.

Use cases (:class:`BookAppointment`, :class:`CancelAppointment`, :class:`CheckInPatient`,
:class:`HandlePaymentWebhook`, :class:`IssueInvoice`) are what an HTTP endpoint or a CLI calls;
they change an entity and publish an event, and booking sets the appointment's timers
(:mod:`.timers`). Handlers react to those events; :func:`register_booking_handlers` wires them
onto a processor with their queues, retries and limits, :func:`register_booking_schedules`
adds the no-show check to a recurring scheduler. Only ports are imported here: the composition
root decides which notifier, repositories and bus they get.
"""

from .appointments import BookAppointment, CancelAppointment, CheckInPatient
from .event_ids import (
    NAMESPACE,
    appointment_created_event_id,
    caused_event_id,
    checked_in_event_id,
    no_show_event_id,
    payment_deadline_event_id,
    payment_event_id,
    reminder_event_id,
)
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
from .invoices import IssueInvoice
from .payments import HandlePaymentWebhook
from .registration import (
    NOTIFICATION_RETRY,
    STATE_RETRY,
    WHATSAPP_LIMIT,
    Names,
    register_booking_handlers,
)
from .schedules import NO_SHOW_CHECK, register_booking_schedules
from .timers import PAYMENT_WINDOW

__all__ = [
    "NAMESPACE",
    "NOTIFICATION_RETRY",
    "NO_SHOW_CHECK",
    "PAYMENT_WINDOW",
    "STATE_RETRY",
    "WHATSAPP_LIMIT",
    "BookAppointment",
    "CancelAppointment",
    "CancelUnpaidAppointment",
    "CheckInPatient",
    "ConfirmAppointment",
    "HandlePaymentWebhook",
    "IssueInvoice",
    "MarkNoShows",
    "Names",
    "NotifyCancellation",
    "NotifyDoctor",
    "NotifyNoShow",
    "SendAppointmentReminder",
    "SendInvoice",
    "SendPatientConfirmation",
    "SendPatientWhatsApp",
    "SendReceipt",
    "appointment_created_event_id",
    "caused_event_id",
    "checked_in_event_id",
    "no_show_event_id",
    "payment_deadline_event_id",
    "payment_event_id",
    "register_booking_handlers",
    "register_booking_schedules",
    "reminder_event_id",
]
