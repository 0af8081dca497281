"""The reference booking domain's use cases and handlers.

Use cases (:class:`BookAppointment`, :class:`CancelAppointment`, :class:`HandlePaymentWebhook`,
:class:`IssueInvoice`) are what an HTTP endpoint or a CLI calls; they change an entity and
publish an event. Handlers react to those events; :func:`register_booking_handlers` wires them
onto a processor with their queues, retries and limits. Only ports are imported here: the
composition root decides which notifier, repositories and bus they get.
"""

from .appointments import BookAppointment, CancelAppointment
from .event_ids import NAMESPACE, caused_event_id, payment_event_id
from .handlers import (
    ConfirmAppointment,
    NotifyCancellation,
    NotifyDoctor,
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

__all__ = [
    "NAMESPACE",
    "NOTIFICATION_RETRY",
    "STATE_RETRY",
    "WHATSAPP_LIMIT",
    "BookAppointment",
    "CancelAppointment",
    "ConfirmAppointment",
    "HandlePaymentWebhook",
    "IssueInvoice",
    "Names",
    "NotifyCancellation",
    "NotifyDoctor",
    "SendInvoice",
    "SendPatientConfirmation",
    "SendPatientWhatsApp",
    "SendReceipt",
    "caused_event_id",
    "payment_event_id",
    "register_booking_handlers",
]
