"""The reference hospital/booking domain: appointments, payments, invoices."""

from .appointment import Appointment, AppointmentStatus, Canceller
from .events import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    Contact,
    InvoiceIssued,
    InvoiceLine,
    PaymentSucceeded,
)
from .invoice import Invoice

__all__ = [
    "Appointment",
    "AppointmentCancelled",
    "AppointmentConfirmed",
    "AppointmentCreated",
    "AppointmentStatus",
    "Canceller",
    "Contact",
    "Invoice",
    "InvoiceIssued",
    "InvoiceLine",
    "PaymentSucceeded",
]
