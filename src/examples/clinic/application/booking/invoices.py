"""Issuing an invoice: store it, publish :class:`InvoiceIssued`, let a handler tell the patient.

Storing and publishing are one unit of work when the container gives one (ADR 0020).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from uuid import uuid4

from .....ports.clock import Clock
from .....ports.event_bus import EventBus
from .....ports.unit_of_work import UnitOfWork
from ...domain.booking.events import Contact, InvoiceIssued, InvoiceLine
from ...domain.booking.invoice import Invoice
from ...ports.repositories import InvoiceRepository
from ..transactions import transaction


def new_invoice_id() -> str:
    """A fresh invoice id, ``inv-`` and 12 hex digits."""
    return f"inv-{uuid4().hex[:12]}"


class IssueInvoice:
    """Issue an invoice to a patient and publish :class:`InvoiceIssued`."""

    def __init__(
        self,
        invoices: InvoiceRepository,
        event_bus: EventBus,
        clock: Clock,
        new_id: Callable[[], str] = new_invoice_id,
        *,
        unit_of_work: UnitOfWork | None = None,
    ) -> None:
        self.invoices = invoices
        self.event_bus = event_bus
        self.clock = clock
        self.new_id = new_id
        self.unit_of_work = unit_of_work

    def __call__(
        self,
        *,
        patient_id: str,
        patient: Contact,
        lines: Iterable[InvoiceLine],
        currency: str,
        due_on: date,
        appointment_id: str | None = None,
        invoice_id: str | None = None,
    ) -> Invoice:
        """The issued invoice; raises :class:`InvalidEvent` for a bad field (no lines, say)
        and :class:`AlreadyExists` for an ``invoice_id`` already issued."""
        now = self.clock.now()
        invoice = Invoice(
            id=invoice_id or self.new_id(),
            patient_id=patient_id,
            patient=patient,
            lines=tuple(lines),
            currency=currency,
            due_on=due_on,
            issued_at=now,
            appointment_id=appointment_id,
        )
        event = InvoiceIssued(
            occurred_at=now,
            invoice_id=invoice.id,
            patient_id=patient_id,
            patient=patient,
            appointment_id=appointment_id,
            lines=invoice.lines,
            currency=currency,
            due_on=due_on,
        )
        with transaction(self.unit_of_work, self.event_bus) as outgoing:
            self.invoices.add(invoice)
            outgoing.publish(event)
        return invoice
