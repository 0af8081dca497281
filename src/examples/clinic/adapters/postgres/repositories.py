"""The clinic's repository ports on PostgreSQL, joined to the unit of work of their thread.

Each method runs inside ``with unit_of_work:``: in a use case's open transaction it joins it
(so the change commits with the use case's outbox rows), alone it is a transaction of its
own. ``get`` locks the row (``FOR UPDATE``) so two handlers changing one appointment take
turns instead of overwriting each other; ``add`` inserts with ``ON CONFLICT DO NOTHING`` and
raises :class:`AlreadyExists` without aborting the transaction, so a use case can look at
what is stored and go on (a retried booking does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from .....adapters.postgres.engine import pg_insert, sqlalchemy
from .....adapters.postgres.unit_of_work import PostgresUnitOfWork
from .....domain.serialization import make_event_converter
from ...domain.booking.appointment import Appointment
from ...domain.booking.invoice import Invoice
from ...domain.errors import (
    AlreadyExists,
    AppointmentNotFound,
    InvoiceNotFound,
    MedicineNotFound,
    OfferNotFound,
    WaitlistEntryNotFound,
)
from ...domain.medicine.stock import Medicine
from ...domain.waitlist.entry import EntryStatus, WaitlistEntry
from ...domain.waitlist.offer import SlotOffer
from . import tables

T = TypeVar("T")

_converter = make_event_converter()


class _Documents(Generic[T]):
    """Entities of one class stored as JSON documents in ``table``, by ``id``."""

    def __init__(
        self,
        unit_of_work: PostgresUnitOfWork,
        table: sqlalchemy.Table,
        kind: type[T],
        *,
        label: str,
        not_found: Callable[[str], Exception],
        columns: Callable[[T], Mapping[str, Any]] = lambda _: {},
    ) -> None:
        self.unit_of_work = unit_of_work
        self.table = table
        self.kind = kind
        self.label = label
        self.not_found = not_found
        self.columns = columns

    def _row(self, item: T) -> dict[str, Any]:
        return {"data": _converter.unstructure(item), **self.columns(item)}

    def _load(self, data: Any) -> T:
        return _converter.structure(data, self.kind)

    def get(self, item_id: str) -> T:
        with self.unit_of_work:
            found = self.unit_of_work.connection.execute(
                sqlalchemy.select(self.table.c.data)
                .where(self.table.c.id == item_id)
                .with_for_update()
            ).first()
        if found is None:
            raise self.not_found(item_id)
        return self._load(found[0])

    def add(self, item_id: str, item: T) -> None:
        statement = (
            pg_insert(self.table)
            .values(id=item_id, **self._row(item))
            .on_conflict_do_nothing()
            .returning(self.table.c.id)
        )
        with self.unit_of_work:
            inserted = self.unit_of_work.connection.execute(statement).first()
        if inserted is None:
            raise AlreadyExists(self.label, item_id)

    def save(self, item_id: str, item: T) -> None:
        statement = (
            sqlalchemy.update(self.table)
            .where(self.table.c.id == item_id)
            .values(**self._row(item))
            .returning(self.table.c.id)
        )
        with self.unit_of_work:
            updated = self.unit_of_work.connection.execute(statement).first()
        if updated is None:
            raise self.not_found(item_id)

    def select(self, where: Any, *order: Any) -> list[T]:
        statement = sqlalchemy.select(self.table.c.data).where(where).order_by(*order)
        with self.unit_of_work:
            rows = self.unit_of_work.connection.execute(statement).all()
        return [self._load(row[0]) for row in rows]


class PostgresAppointmentRepository:
    """The :class:`AppointmentRepository` port in ``clinic_appointments``."""

    def __init__(self, unit_of_work: PostgresUnitOfWork) -> None:
        self._docs = _Documents(
            unit_of_work,
            tables.appointments,
            Appointment,
            label="appointment",
            not_found=AppointmentNotFound,
            columns=lambda a: {"starts_at": a.starts_at},
        )

    def get(self, appointment_id: str) -> Appointment:
        """The stored appointment, locked until the transaction ends."""
        return self._docs.get(appointment_id)

    def add(self, appointment: Appointment) -> None:
        """Store a new appointment."""
        self._docs.add(appointment.id, appointment)

    def save(self, appointment: Appointment) -> None:
        """Store the changes to an appointment."""
        self._docs.save(appointment.id, appointment)

    def starting_between(self, start: datetime, end: datetime) -> list[Appointment]:
        """Appointments starting in [start, end), earliest first."""
        column = tables.appointments.c.starts_at
        return self._docs.select((column >= start) & (column < end), column)

    def all(self) -> list[Appointment]:
        """Every appointment, earliest first (for tests and the demo)."""
        return self._docs.select(sqlalchemy.true(), tables.appointments.c.starts_at)


class PostgresInvoiceRepository:
    """The :class:`InvoiceRepository` port in ``clinic_invoices``."""

    def __init__(self, unit_of_work: PostgresUnitOfWork) -> None:
        self._docs = _Documents(
            unit_of_work, tables.invoices, Invoice, label="invoice", not_found=InvoiceNotFound
        )

    def get(self, invoice_id: str) -> Invoice:
        """The stored invoice."""
        return self._docs.get(invoice_id)

    def add(self, invoice: Invoice) -> None:
        """Store a new invoice."""
        self._docs.add(invoice.id, invoice)


class PostgresWaitlistRepository:
    """The :class:`WaitlistRepository` port in ``clinic_waitlist_entries``."""

    def __init__(self, unit_of_work: PostgresUnitOfWork) -> None:
        self._docs = _Documents(
            unit_of_work,
            tables.waitlist_entries,
            WaitlistEntry,
            label="waitlist entry",
            not_found=WaitlistEntryNotFound,
            columns=lambda e: {
                "clinic_id": e.clinic_id,
                "doctor_id": e.doctor_id,
                "status": e.status.value,
                "joined_at": e.joined_at,
            },
        )

    def get(self, entry_id: str) -> WaitlistEntry:
        """The stored entry, locked until the transaction ends."""
        return self._docs.get(entry_id)

    def add(self, entry: WaitlistEntry) -> None:
        """Store a new entry."""
        self._docs.add(entry.id, entry)

    def save(self, entry: WaitlistEntry) -> None:
        """Store the changes to an entry."""
        self._docs.save(entry.id, entry)

    def waiting(self, clinic_id: str, doctor_id: str) -> list[WaitlistEntry]:
        """The entries still waiting for this doctor and clinic, in joining order."""
        c = tables.waitlist_entries.c
        return self._docs.select(
            (c.clinic_id == clinic_id)
            & (c.doctor_id == doctor_id)
            & (c.status == EntryStatus.WAITING.value),
            c.joined_at,
        )


class PostgresSlotOfferRepository:
    """The :class:`SlotOfferRepository` port in ``clinic_slot_offers``."""

    def __init__(self, unit_of_work: PostgresUnitOfWork) -> None:
        self._docs = _Documents(
            unit_of_work,
            tables.slot_offers,
            SlotOffer,
            label="slot offer",
            not_found=OfferNotFound,
            columns=lambda o: {"slot_key": o.slot.key, "offered_at": o.offered_at},
        )

    def get(self, offer_id: str) -> SlotOffer:
        """The stored offer, locked until the transaction ends."""
        return self._docs.get(offer_id)

    def add(self, offer: SlotOffer) -> None:
        """Store a new offer."""
        self._docs.add(offer.id, offer)

    def save(self, offer: SlotOffer) -> None:
        """Store the changes to an offer."""
        self._docs.save(offer.id, offer)

    def for_slot(self, slot_key: str) -> list[SlotOffer]:
        """Every offer of the slot, oldest first."""
        c = tables.slot_offers.c
        return self._docs.select(c.slot_key == slot_key, c.offered_at)


class PostgresMedicineRepository:
    """The :class:`MedicineRepository` port in ``clinic_medicines``."""

    def __init__(self, unit_of_work: PostgresUnitOfWork) -> None:
        self._docs = _Documents(
            unit_of_work, tables.medicines, Medicine, label="medicine", not_found=MedicineNotFound
        )

    def get(self, medicine_id: str) -> Medicine:
        """The stored medicine, locked until the transaction ends."""
        return self._docs.get(medicine_id)

    def add(self, medicine: Medicine) -> None:
        """Store a new medicine."""
        self._docs.add(medicine.id, medicine)

    def save(self, medicine: Medicine) -> None:
        """Store the changes to a medicine."""
        self._docs.save(medicine.id, medicine)

    def all(self) -> list[Medicine]:
        """Every medicine, in the order added."""
        return self._docs.select(sqlalchemy.true(), tables.medicines.c.added)
