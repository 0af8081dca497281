"""Where the clinic keeps its entities: appointments, invoices, waitlist, stock.

Use cases and handlers load an entity, change it and save it through these ports; whether it
lives in a dict or a database is the composition root's choice. They are deliberately small:
what the clinic's flows need, nothing a query screen would. ``get`` returns a copy the
caller owns everywhere: a change is not stored until ``save``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..domain.booking.appointment import Appointment
from ..domain.booking.invoice import Invoice
from ..domain.medicine.stock import Medicine
from ..domain.waitlist.entry import WaitlistEntry
from ..domain.waitlist.offer import SlotOffer


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

    def starting_between(self, start: datetime, end: datetime) -> list[Appointment]:
        """Appointments starting in [``start``, ``end``), earliest first (the no-show check
        and the weekly report)."""
        ...


class InvoiceRepository(Protocol):
    """Stores issued invoices by id; an issued invoice is never changed, so there is no save."""

    def get(self, invoice_id: str) -> Invoice:
        """The invoice with this id; raises :class:`InvoiceNotFound`."""
        ...

    def add(self, invoice: Invoice) -> None:
        """Store a new invoice; raises :class:`AlreadyExists` when its id is taken."""
        ...


class WaitlistRepository(Protocol):
    """Stores waitlist entries by id."""

    def get(self, entry_id: str) -> WaitlistEntry:
        """The entry with this id; raises :class:`WaitlistEntryNotFound`."""
        ...

    def add(self, entry: WaitlistEntry) -> None:
        """Store a new entry; raises :class:`AlreadyExists` when its id is taken."""
        ...

    def save(self, entry: WaitlistEntry) -> None:
        """Store the changes to an entry; raises :class:`WaitlistEntryNotFound`."""
        ...

    def waiting(self, clinic_id: str, doctor_id: str) -> list[WaitlistEntry]:
        """The entries still WAITING for ``doctor_id`` at ``clinic_id``, in joining order."""
        ...


class SlotOfferRepository(Protocol):
    """Stores slot offers by id."""

    def get(self, offer_id: str) -> SlotOffer:
        """The offer with this id; raises :class:`OfferNotFound`."""
        ...

    def add(self, offer: SlotOffer) -> None:
        """Store a new offer; raises :class:`AlreadyExists` when its id is taken."""
        ...

    def save(self, offer: SlotOffer) -> None:
        """Store the changes to an offer; raises :class:`OfferNotFound`."""
        ...

    def for_slot(self, slot_key: str) -> list[SlotOffer]:
        """Every offer ever made of the slot ``slot_key``, oldest first."""
        ...


class MedicineRepository(Protocol):
    """Stores the medicines in stock, every clinic's."""

    def get(self, medicine_id: str) -> Medicine:
        """The medicine with this id; raises :class:`MedicineNotFound`."""
        ...

    def add(self, medicine: Medicine) -> None:
        """Store a new medicine; raises :class:`AlreadyExists` when its id is taken."""
        ...

    def save(self, medicine: Medicine) -> None:
        """Store the changes to a medicine; raises :class:`MedicineNotFound`."""
        ...

    def all(self) -> list[Medicine]:
        """Every medicine, for the daily checks."""
        ...
