"""The booking events survive the wire: serialized and read back without loss."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hexbus import DomainEvent, EventSerializer
from hexbus.examples.clinic.application.booking import payment_event_id
from hexbus.examples.clinic.domain.booking import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentCreated,
    Contact,
    InvoiceIssued,
    InvoiceLine,
    PaymentSucceeded,
)

ANA = Contact(name="Ana", email="ana@example.com", phone="+34600")
RUIZ = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")
WHEN = datetime(2026, 3, 3, 10, tzinfo=UTC)

EVENTS: list[DomainEvent] = [
    AppointmentCreated(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=ANA,
        doctor_id="doc-1",
        doctor=RUIZ,
        clinic_id="clinic-1",
        starts_at=WHEN,
        price=Decimal("60.00"),
        currency="EUR",
    ),
    AppointmentConfirmed(appointment_id="apt-1", payment_id="txn-1"),
    AppointmentCancelled(
        appointment_id="apt-1",
        patient_id="pat-1",
        patient=ANA,
        doctor_id="doc-1",
        doctor=RUIZ,
        clinic_id="clinic-1",
        starts_at=WHEN,
        reason="ill",
        cancelled_by="patient",
    ),
    PaymentSucceeded(
        event_id=payment_event_id("txn-1"),
        payment_id="txn-1",
        appointment_id="apt-1",
        amount=Decimal("60.00"),
        currency="EUR",
        provider="stripe",
    ),
    InvoiceIssued(
        invoice_id="inv-1",
        patient_id="pat-1",
        patient=ANA,
        lines=[InvoiceLine(description="Consultation", quantity=1, unit_price=Decimal("60"))],
        currency="EUR",
        due_on=date(2026, 3, 31),
    ),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type)
def test_booking_events_round_trip_through_json(event: DomainEvent) -> None:
    serializer = EventSerializer()
    assert serializer.loads(serializer.dumps(event)) == event


def test_invoice_lines_given_as_a_list_are_kept_as_a_tuple() -> None:
    invoice = EVENTS[-1]
    assert isinstance(invoice, InvoiceIssued)
    assert isinstance(invoice.lines, tuple)
