"""The clinic's booking: appointments, payments, invoices, their timers."""

from .appointment import PAID, Appointment, AppointmentStatus, Canceller
from .events import (
    REMINDER_HOURS,
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    AppointmentNoShow,
    AppointmentPaymentDeadlinePassed,
    AppointmentReminderDue,
    Contact,
    InvoiceIssued,
    InvoiceLine,
    NoShowCheckDue,
    PatientCheckedIn,
    PaymentSucceeded,
)
from .invoice import Invoice

__all__ = [
    "PAID",
    "REMINDER_HOURS",
    "Appointment",
    "AppointmentCancelled",
    "AppointmentConfirmed",
    "AppointmentCreated",
    "AppointmentNoShow",
    "AppointmentPaymentDeadlinePassed",
    "AppointmentReminderDue",
    "AppointmentStatus",
    "Canceller",
    "Contact",
    "Invoice",
    "InvoiceIssued",
    "InvoiceLine",
    "NoShowCheckDue",
    "PatientCheckedIn",
    "PaymentSucceeded",
]
