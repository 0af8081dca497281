"""The clinic's errors.

They are the clinic's, not the library's: every one derives from :class:`ClinicError`, so a
caller can catch whatever the clinic raises on purpose. Where the clinic wants a behaviour of
hexbus, it subclasses hexbus's public error for it: :class:`InvalidRecipient` is also a
:class:`hexbus.NonRetryableError`, so a message to an address that can never work goes
straight to the dead letters instead of being retried.
"""

from __future__ import annotations

from ....domain.errors import NonRetryableError


class ClinicError(Exception):
    """Root of every error the clinic raises on purpose."""


# --- outside services ---------------------------------------------------------------------


class NotificationFailed(ClinicError):
    """An SMS, email or WhatsApp message could not be sent this time; retrying may help."""


class InvalidRecipient(ClinicError, NonRetryableError):
    """A notification's recipient can never be reached (no such number, malformed address)."""


# --- the clinic's rules -------------------------------------------------------------------


class BookingError(ClinicError):
    """A rule of the clinic was broken (appointments, invoices, waitlist, stock)."""


class InvalidTransition(BookingError, ValueError):
    """An appointment cannot go from its current status to the one asked for.

    Trying again cannot help, so handlers register it as non-retryable: the event goes to the
    dead letters for an operator (a payment for a cancelled appointment needs a refund).
    """

    def __init__(self, appointment_id: str, status: str, action: str, reason: str = "") -> None:
        self.appointment_id = appointment_id
        self.status = status
        self.action = action
        detail = f": {reason}" if reason else ""
        super().__init__(f"cannot {action} appointment {appointment_id!r}, it is {status}{detail}")


class AppointmentNotFound(BookingError, LookupError):
    """No appointment has this id."""

    def __init__(self, appointment_id: str) -> None:
        self.appointment_id = appointment_id
        super().__init__(
            f"no appointment with id {appointment_id!r}: check the id, or book it first"
        )


class InvoiceNotFound(BookingError, LookupError):
    """No invoice has this id."""

    def __init__(self, invoice_id: str) -> None:
        self.invoice_id = invoice_id
        super().__init__(f"no invoice with id {invoice_id!r}: check the id, or issue it first")


class AlreadyExists(BookingError, ValueError):
    """A new appointment or invoice was given an id that is already taken."""

    def __init__(self, kind: str, record_id: str) -> None:
        self.kind = kind
        self.record_id = record_id
        super().__init__(
            f"{kind} {record_id!r} already exists: ids are unique; load it and change it instead"
        )


class WaitlistEntryNotFound(BookingError, LookupError):
    """No waitlist entry has this id."""

    def __init__(self, entry_id: str) -> None:
        self.entry_id = entry_id
        super().__init__(f"no waitlist entry with id {entry_id!r}: check the id")


class OfferNotFound(BookingError, LookupError):
    """No slot offer has this id."""

    def __init__(self, offer_id: str) -> None:
        self.offer_id = offer_id
        super().__init__(f"no slot offer with id {offer_id!r}: check the id")


class OfferNotOpen(BookingError, ValueError):
    """A slot offer can no longer be accepted: it expired, or went to someone else.

    Trying again cannot help; the patient stays on the waitlist for the next free slot.
    """

    def __init__(self, offer_id: str, reason: str) -> None:
        self.offer_id = offer_id
        self.reason = reason
        super().__init__(f"offer {offer_id!r} cannot be accepted: {reason}")


class MedicineNotFound(BookingError, LookupError):
    """No medicine in stock has this id."""

    def __init__(self, medicine_id: str) -> None:
        self.medicine_id = medicine_id
        super().__init__(f"no medicine with id {medicine_id!r}: check the id, or add it first")
