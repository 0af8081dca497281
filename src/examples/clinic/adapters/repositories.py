"""The clinic's repositories in process memory: the default, and the tests' fakes.

They hand out and keep copies, as a database would, so a use case that forgets to ``save``
fails its tests here instead of passing by sharing one mutable object.
"""

from __future__ import annotations

import threading
from datetime import datetime

import attrs

from ..domain.booking.appointment import Appointment
from ..domain.booking.invoice import Invoice
from ..domain.errors import (
    AlreadyExists,
    AppointmentNotFound,
    InvoiceNotFound,
    MedicineNotFound,
    OfferNotFound,
    WaitlistEntryNotFound,
)
from ..domain.medicine.stock import Medicine
from ..domain.waitlist.entry import EntryStatus, WaitlistEntry
from ..domain.waitlist.offer import SlotOffer


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

    def starting_between(self, start: datetime, end: datetime) -> list[Appointment]:
        """Copies of the appointments starting in [start, end), earliest first."""
        with self._lock:
            found = [a for a in self._items.values() if start <= a.starts_at < end]
            return [attrs.evolve(a) for a in sorted(found, key=lambda a: a.starts_at)]

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


class InMemoryWaitlistRepository:
    """The :class:`WaitlistRepository` port in a dict (insertion order is joining order)."""

    def __init__(self) -> None:
        self._items: dict[str, WaitlistEntry] = {}
        self._lock = threading.Lock()

    def get(self, entry_id: str) -> WaitlistEntry:
        """A copy of the stored entry."""
        with self._lock:
            try:
                return attrs.evolve(self._items[entry_id])
            except KeyError:
                raise WaitlistEntryNotFound(entry_id) from None

    def add(self, entry: WaitlistEntry) -> None:
        """Keep a copy of a new entry."""
        with self._lock:
            if entry.id in self._items:
                raise AlreadyExists("waitlist entry", entry.id)
            self._items[entry.id] = attrs.evolve(entry)

    def save(self, entry: WaitlistEntry) -> None:
        """Replace the stored copy."""
        with self._lock:
            if entry.id not in self._items:
                raise WaitlistEntryNotFound(entry.id)
            self._items[entry.id] = attrs.evolve(entry)

    def waiting(self, clinic_id: str, doctor_id: str) -> list[WaitlistEntry]:
        """Copies of the entries still waiting for this doctor and clinic, in joining order."""
        with self._lock:
            return [
                attrs.evolve(e)
                for e in sorted(self._items.values(), key=lambda e: e.joined_at)
                if e.status is EntryStatus.WAITING
                and (e.clinic_id, e.doctor_id) == (clinic_id, doctor_id)
            ]

    def __len__(self) -> int:
        return len(self._items)


class InMemorySlotOfferRepository:
    """The :class:`SlotOfferRepository` port in a dict."""

    def __init__(self) -> None:
        self._items: dict[str, SlotOffer] = {}
        self._lock = threading.Lock()

    def get(self, offer_id: str) -> SlotOffer:
        """A copy of the stored offer."""
        with self._lock:
            try:
                return attrs.evolve(self._items[offer_id])
            except KeyError:
                raise OfferNotFound(offer_id) from None

    def add(self, offer: SlotOffer) -> None:
        """Keep a copy of a new offer."""
        with self._lock:
            if offer.id in self._items:
                raise AlreadyExists("slot offer", offer.id)
            self._items[offer.id] = attrs.evolve(offer)

    def save(self, offer: SlotOffer) -> None:
        """Replace the stored copy."""
        with self._lock:
            if offer.id not in self._items:
                raise OfferNotFound(offer.id)
            self._items[offer.id] = attrs.evolve(offer)

    def for_slot(self, slot_key: str) -> list[SlotOffer]:
        """Copies of every offer of the slot, oldest first."""
        with self._lock:
            found = [o for o in self._items.values() if o.slot.key == slot_key]
            return [attrs.evolve(o) for o in sorted(found, key=lambda o: o.offered_at)]

    def all(self) -> list[SlotOffer]:
        """Copies of every offer, in the order made (for tests and the demo)."""
        with self._lock:
            return [attrs.evolve(o) for o in self._items.values()]


class InMemoryMedicineRepository:
    """The :class:`MedicineRepository` port in a dict."""

    def __init__(self) -> None:
        self._items: dict[str, Medicine] = {}
        self._lock = threading.Lock()

    def get(self, medicine_id: str) -> Medicine:
        """A copy of the stored medicine."""
        with self._lock:
            try:
                return attrs.evolve(self._items[medicine_id])
            except KeyError:
                raise MedicineNotFound(medicine_id) from None

    def add(self, medicine: Medicine) -> None:
        """Keep a copy of a new medicine."""
        with self._lock:
            if medicine.id in self._items:
                raise AlreadyExists("medicine", medicine.id)
            self._items[medicine.id] = attrs.evolve(medicine)

    def save(self, medicine: Medicine) -> None:
        """Replace the stored copy."""
        with self._lock:
            if medicine.id not in self._items:
                raise MedicineNotFound(medicine.id)
            self._items[medicine.id] = attrs.evolve(medicine)

    def all(self) -> list[Medicine]:
        """Copies of every medicine, in the order added."""
        with self._lock:
            return [attrs.evolve(m) for m in self._items.values()]
