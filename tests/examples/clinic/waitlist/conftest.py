"""The waitlist wired with the booking domain on the in-memory bus, on virtual time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.application import DomainEventsProcessor
from hexbus.examples.clinic.adapters import (
    InMemoryAppointmentRepository,
    InMemorySlotOfferRepository,
    InMemoryWaitlistRepository,
)
from hexbus.examples.clinic.adapters.notifiers import RecordingNotifier
from hexbus.examples.clinic.application.booking import (
    BookAppointment,
    HandlePaymentWebhook,
    register_booking_handlers,
)
from hexbus.examples.clinic.application.waitlist import (
    AcceptOffer,
    JoinWaitlist,
    OfferSlot,
    register_waitlist_handlers,
)
from hexbus.examples.clinic.domain.booking import Contact
from hexbus.examples.clinic.domain.waitlist import Slot, WaitlistEntry

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLINIC = "clinic-1"
DOCTOR = Contact(name="Dr. Said", email="said@clinic.example")
DINA = Contact(name="Dina", phone="+34622")
ELI = Contact(name="Eli", email="eli@example.com", phone="+34633")
FAY = Contact(name="Fay", email="fay@example.com")

SLOT = Slot(
    clinic_id=CLINIC,
    doctor_id="doc-said",
    doctor=DOCTOR,
    starts_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
    price=Decimal("60.00"),
    currency="EUR",
)


@attrs.define
class Waitlist:
    """The waitlist's use cases and what a test looks at."""

    clock: VirtualClock
    bus: InMemoryEventBus
    sent: RecordingNotifier
    entries: InMemoryWaitlistRepository
    offers: InMemorySlotOfferRepository
    appointments: InMemoryAppointmentRepository
    join: JoinWaitlist
    offer: OfferSlot
    accept: AcceptOffer
    pay: HandlePaymentWebhook

    def join_in_turn(self, *patients: Contact) -> list[WaitlistEntry]:
        """Each patient joins a minute after the previous one, for SLOT's doctor."""
        joined = []
        for patient in patients:
            joined.append(
                self.join(
                    patient_id=f"pat-{patient.name.lower()}",
                    patient=patient,
                    clinic_id=CLINIC,
                    doctor_id=SLOT.doctor_id,
                    entry_id=f"wl-{patient.name.lower()}",
                )
            )
            self.clock.advance(timedelta(minutes=1))
        return joined


@pytest.fixture
def waitlist() -> Waitlist:
    clock = VirtualClock(NOW)
    processor = DomainEventsProcessor()
    bus = InMemoryEventBus(processor, clock=clock, random_fraction=lambda: 0.0)
    sent = RecordingNotifier()
    appointments = InMemoryAppointmentRepository()
    entries = InMemoryWaitlistRepository()
    offers = InMemorySlotOfferRepository()
    register_booking_handlers(
        processor,
        notifier=sent,
        appointments=appointments,
        event_bus=bus,
        scheduler=bus,
        clock=clock,
    )
    register_waitlist_handlers(
        processor, notifier=sent, entries=entries, offers=offers, event_bus=bus, clock=clock
    )
    book = BookAppointment(appointments, bus, clock)
    return Waitlist(
        clock=clock,
        bus=bus,
        sent=sent,
        entries=entries,
        offers=offers,
        appointments=appointments,
        join=JoinWaitlist(entries, clock),
        offer=OfferSlot(entries, offers, bus, clock),
        accept=AcceptOffer(entries, offers, book, bus, clock, scheduler=bus),
        pay=HandlePaymentWebhook(appointments, bus, clock, scheduler=bus),
    )
