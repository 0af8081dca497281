"""The medicine stock's checks on the in-memory bus, driven by their cron schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.schedule_state import InMemoryScheduleState
from hexbus.application import DomainEventsProcessor
from hexbus.application.recurring import RecurringScheduler
from hexbus.examples.clinic.adapters import InMemoryMedicineRepository
from hexbus.examples.clinic.adapters.notifiers import RecordingNotifier
from hexbus.examples.clinic.application.medicine import (
    register_medicine_handlers,
    register_medicine_schedules,
)
from hexbus.examples.clinic.domain.booking import Contact
from hexbus.examples.clinic.domain.medicine import Batch, Medicine

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
TODAY = NOW.date()
TONIGHT = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
PHARMACIST = Contact(name="Pharmacy", email="pharmacy@clinic.example")


def medicine(
    medicine_id: str = "med-1",
    *,
    threshold: int = 10,
    batches: tuple[tuple[str, date, int], ...] = (),
) -> Medicine:
    return Medicine(
        id=medicine_id,
        name=medicine_id.removeprefix("med-").title(),
        clinic_id="clinic-1",
        pharmacist=PHARMACIST,
        low_stock_threshold=threshold,
        batches=tuple(Batch(batch_id=b, expires_on=d, quantity=q) for b, d, q in batches),
    )


def in_days(days: int) -> date:
    """A date ``days`` after the first check (Tuesday)."""
    return TONIGHT.date() + timedelta(days=days)


@attrs.define
class Pharmacy:
    clock: VirtualClock
    bus: InMemoryEventBus
    sent: RecordingNotifier
    stock: InMemoryMedicineRepository
    recurring: RecurringScheduler


@pytest.fixture
def pharmacy() -> Pharmacy:
    clock = VirtualClock(NOW)
    processor = DomainEventsProcessor()
    bus = InMemoryEventBus(processor, clock=clock, random_fraction=lambda: 0.0)
    sent = RecordingNotifier()
    stock = InMemoryMedicineRepository()
    register_medicine_handlers(processor, notifier=sent, stock=stock, event_bus=bus)
    recurring = RecurringScheduler(bus, InMemoryScheduleState(), clock.now)
    register_medicine_schedules(recurring)
    bus.add_timer(recurring)
    return Pharmacy(clock, bus, sent, stock, recurring)
