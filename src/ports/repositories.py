"""Where the booking domain keeps its appointments and invoices.

Use cases and handlers load an entity, change it and save it through these ports; whether it
lives in a dict or a database is the composition root's choice. They are deliberately small:
what the reference flows need, nothing a query screen would.
"""

from __future__ import annotations

from typing import Protocol

from ..domain.booking.appointment import Appointment
from ..domain.booking.invoice import Invoice


class AppointmentRepository(Protocol):
    """Stores appointments by id.

    ``get`` returns a copy the caller owns: a change is not stored until ``save`` (so a use
    case that fails half-way leaves nothing half-written).
    """

    def get(self, appointment_id: str) -> Appointment:
        """The appointment with this id; raises :class:`AppointmentNotFound`."""
        ...

    def add(self, appointment: Appointment) -> None:
        """Store a new appointment; raises :class:`AlreadyExists` when its id is taken."""
        ...

    def save(self, appointment: Appointment) -> None:
        """Store the changes to an existing appointment; raises :class:`AppointmentNotFound`."""
        ...


class InvoiceRepository(Protocol):
    """Stores issued invoices by id; an issued invoice is never changed, so there is no save."""

    def get(self, invoice_id: str) -> Invoice:
        """The invoice with this id; raises :class:`InvoiceNotFound`."""
        ...

    def add(self, invoice: Invoice) -> None:
        """Store a new invoice; raises :class:`AlreadyExists` when its id is taken."""
        ...
