"""The reference hospital/booking domain: appointments, payments, invoices."""

from .events import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    Contact,
    InvoiceIssued,
    InvoiceLine,
    PaymentSucceeded,
)

__all__ = [
    "AppointmentCancelled",
    "AppointmentConfirmed",
    "AppointmentCreated",
    "Contact",
    "InvoiceIssued",
    "InvoiceLine",
    "PaymentSucceeded",
]
