"""The payment confirmation and the invoice notification run through the clinic's inbox.

``build_clinic`` registers both wrapped in an :class:`~hexbus.application.inbox.InboxHandler`
over the container's unit of work and inbox; a redelivery of the same event (a lost success
record) finds the inbox claim and does nothing. Here on the in-memory store; on PostgreSQL
with real workers in ``tests/outbox/test_clinic_on_postgres.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hexbus.adapters.clocks import VirtualClock
from hexbus.application.inbox import InboxHandler
from hexbus.container import create_container
from hexbus.examples.clinic import Contact, InvoiceIssued, InvoiceLine, build_clinic
from hexbus.examples.clinic.adapters import RecordingNotifier
from hexbus.examples.clinic.application.booking.registration import Names

PATIENT = Contact(name="Ana Lopez", email="ana@example.com")


def test_a_redelivered_invoice_is_not_notified_twice() -> None:
    container = create_container(env={}, clock=VirtualClock())
    notifier = RecordingNotifier()
    build_clinic(container, notifier=notifier)
    spec = container.processor().get(Names.SEND_INVOICE)
    event = InvoiceIssued(
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        invoice_id="inv-1",
        patient_id="p-1",
        patient=PATIENT,
        lines=(InvoiceLine(description="Consultation", quantity=1, unit_price=Decimal("60")),),
        currency="EUR",
        due_on=date(2026, 3, 31),
    )

    spec.handler(event)
    spec.handler(event)  # delivered again: the bus lost the first success record

    assert isinstance(spec.handler, InboxHandler)
    assert len(notifier) == 1
    assert notifier.duplicates == 0, "the second delivery never reached the notifier"


def test_the_payment_confirmation_runs_through_the_inbox() -> None:
    container = create_container(env={}, clock=VirtualClock())
    build_clinic(container, notifier=RecordingNotifier())

    assert isinstance(container.processor().get(Names.CONFIRM_APPOINTMENT).handler, InboxHandler)
