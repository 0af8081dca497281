"""Fixtures for the booking domain: the real handlers on the in-memory bus, on virtual time.

Nothing is mocked. The notifier is a RecordingNotifier behind a FlakyNotifier (so a test can
stage an outage), the repositories are the in-memory ones, and retries back off on a
VirtualClock with the random part of the jitter fixed at 0, so a test that waits minutes of
backoff takes no time and sees the same times every run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.schedule_state import InMemoryScheduleState
from hexbus.application import DomainEventsProcessor
from hexbus.application.recurring import RecurringScheduler
from hexbus.examples.clinic.adapters import InMemoryAppointmentRepository, InMemoryInvoiceRepository
from hexbus.examples.clinic.adapters.notifiers import FlakyNotifier, RecordingNotifier
from hexbus.examples.clinic.application.booking import (
    BookAppointment,
    CancelAppointment,
    CheckInPatient,
    HandlePaymentWebhook,
    IssueInvoice,
    register_booking_handlers,
    register_booking_schedules,
)
from hexbus.examples.clinic.domain.booking import Appointment, Contact
from hexbus.ports import PublishResult

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

PATIENT = Contact(name="Ana Lopez", email="ana@example.com", phone="+34600123456")
DOCTOR = Contact(name="Dr. Ruiz", email="ruiz@clinic.example")


@attrs.define
class Booking:
    """The booking domain wired for a test, like the container wires it for a process."""

    clock: VirtualClock
    bus: InMemoryEventBus
    sent: RecordingNotifier
    notifier: FlakyNotifier
    appointments: InMemoryAppointmentRepository
    invoices: InMemoryInvoiceRepository
    book: BookAppointment
    cancel: CancelAppointment
    pay: HandlePaymentWebhook
    issue_invoice: IssueInvoice
    check_in: CheckInPatient
    recurring: RecurringScheduler

    def book_one(
        self,
        appointment_id: str = "apt-1",
        *,
        patient: Contact = PATIENT,
        doctor: Contact = DOCTOR,
        clinic_id: str = "clinic-1",
        starts_at: datetime = NOW + timedelta(days=1),
    ) -> Appointment:
        """Book an appointment (for tomorrow at this time, by default)."""
        return self.book(
            appointment_id=appointment_id,
            patient_id="pat-1",
            patient=patient,
            doctor_id="doc-1",
            doctor=doctor,
            clinic_id=clinic_id,
            starts_at=starts_at,
            price=Decimal("60.00"),
            currency="EUR",
        )

    def pay_for(
        self, appointment_id: str = "apt-1", transaction_id: str = "txn-1"
    ) -> PublishResult:
        """Deliver the provider's webhook for a payment of ``appointment_id``."""
        return self.pay(
            transaction_id=transaction_id,
            appointment_id=appointment_id,
            amount=Decimal("60.00"),
            currency="EUR",
            provider="stripe",
        )


@pytest.fixture
def booking() -> Booking:
    clock = VirtualClock(NOW)
    processor = DomainEventsProcessor()
    bus = InMemoryEventBus(processor, clock=clock, random_fraction=lambda: 0.0)
    sent = RecordingNotifier()
    notifier = FlakyNotifier(sent)
    appointments = InMemoryAppointmentRepository()
    invoices = InMemoryInvoiceRepository()
    register_booking_handlers(
        processor,
        notifier=notifier,
        appointments=appointments,
        event_bus=bus,
        scheduler=bus,
        clock=clock,
    )
    # The no-show check ticks every 30 minutes as the bus's virtual time advances.
    recurring = RecurringScheduler(bus, InMemoryScheduleState(), clock.now)
    register_booking_schedules(recurring)
    bus.add_timer(recurring)
    return Booking(
        clock=clock,
        bus=bus,
        sent=sent,
        notifier=notifier,
        appointments=appointments,
        invoices=invoices,
        book=BookAppointment(appointments, bus, clock),
        cancel=CancelAppointment(appointments, bus, clock, scheduler=bus),
        pay=HandlePaymentWebhook(appointments, bus, clock, scheduler=bus),
        issue_invoice=IssueInvoice(invoices, bus, clock),
        check_in=CheckInPatient(appointments, bus, clock),
        recurring=recurring,
    )
