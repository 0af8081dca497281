"""The booking repositories in process memory: the default, and the tests' fakes.

They hand out and keep copies, as a database would, so a use case that forgets to ``save``
fails its tests here instead of passing by sharing one mutable object.
"""

from __future__ import annotations

import threading

import attrs

from ...domain.booking.appointment import Appointment
from ...domain.booking.invoice import Invoice
from ...domain.errors import AlreadyExists, AppointmentNotFound, InvoiceNotFound


class InMemoryAppointmentRepository:
    """The :class:`AppointmentRepository` port in a dict."""

    def __init__(self) -> None:
        self._items: dict[str, Appointment] = {}
        self._lock = threading.Lock()

    def get(self, appointment_id: str) -> Appointment:
        """A copy of the stored appointment."""
        with self._lock:
            try:
                return attrs.evolve(self._items[appointment_id])
            except KeyError:
                raise AppointmentNotFound(appointment_id) from None

    def add(self, appointment: Appointment) -> None:
        """Keep a copy of a new appointment."""
        with self._lock:
            if appointment.id in self._items:
                raise AlreadyExists("appointment", appointment.id)
            self._items[appointment.id] = attrs.evolve(appointment)

    def save(self, appointment: Appointment) -> None:
        """Replace the stored copy."""
        with self._lock:
            if appointment.id not in self._items:
                raise AppointmentNotFound(appointment.id)
            self._items[appointment.id] = attrs.evolve(appointment)

    def __len__(self) -> int:
        return len(self._items)

    def all(self) -> list[Appointment]:
        """Copies of every appointment, in booking order (for tests and the demo)."""
        with self._lock:
            return [attrs.evolve(item) for item in self._items.values()]


class InMemoryInvoiceRepository:
    """The :class:`InvoiceRepository` port in a dict (invoices are frozen: no copies needed)."""

    def __init__(self) -> None:
        self._items: dict[str, Invoice] = {}
        self._lock = threading.Lock()

    def get(self, invoice_id: str) -> Invoice:
        """The stored invoice."""
        with self._lock:
            try:
                return self._items[invoice_id]
            except KeyError:
                raise InvoiceNotFound(invoice_id) from None

    def add(self, invoice: Invoice) -> None:
        """Keep a new invoice."""
        with self._lock:
            if invoice.id in self._items:
                raise AlreadyExists("invoice", invoice.id)
            self._items[invoice.id] = invoice

    def __len__(self) -> int:
        return len(self._items)
