"""The in-memory bus enforces rate limits and fires held work, on virtual and real clocks."""

from __future__ import annotations

import time
from datetime import timedelta

import attrs

from hexbus import DomainEvent, DomainEventsProcessor, RateLimit
from hexbus.adapters.clocks import SystemClock, VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus


@attrs.frozen(kw_only=True)
class Message(DomainEvent):
    event_type = "unit.rate_limited_message"
    clinic_id: str


def bus_with_limit(clock: VirtualClock | SystemClock, limit: int, period: timedelta):  # type: ignore[no-untyped-def]
    processor = DomainEventsProcessor()
    runs: list[tuple[str, object]] = []
    processor.register_handler(
        Message,
        lambda e: runs.append((e.clinic_id, clock.now())),
        name="send",
        rate_limit=RateLimit(name="whatsapp", limit=limit, period=period, key="clinic_id"),
    )
    return InMemoryEventBus(processor, clock=clock), runs


def test_a_full_bucket_holds_the_run_until_a_slot_frees_on_virtual_time() -> None:
    clock = VirtualClock()
    bus, runs = bus_with_limit(clock, 2, timedelta(minutes=1))
    start = clock.now()
    for _ in range(5):
        bus.publish(Message(clinic_id="c1"))
    bus.publish(Message(clinic_id="c2"))
    assert [c for c, _ in runs] == ["c1", "c1", "c2"], "two for c1, and c2 has its own bucket"
    bus.advance(timedelta(seconds=59))
    assert len(runs) == 3
    bus.advance(timedelta(seconds=1))
    assert len(runs) == 5
    assert runs[-1][1] == start + timedelta(minutes=1)
    bus.advance(timedelta(minutes=1))
    assert len(runs) == 6
    assert bus.dead_letters.count() == 0
    assert all(r.attempt == 1 for r in bus.runs), "waiting for a slot is not an attempt"


def test_held_runs_fire_by_themselves_on_the_system_clock() -> None:
    clock = SystemClock()
    bus, runs = bus_with_limit(clock, 1, timedelta(milliseconds=200))
    bus.publish(Message(clinic_id="c1"))
    bus.publish(Message(clinic_id="c1"))
    assert len(runs) == 1
    deadline = time.monotonic() + 5
    while len(runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(runs) == 2
    gap = runs[1][1] - runs[0][1]  # type: ignore[operator]
    assert gap >= timedelta(milliseconds=190)


def test_delayed_events_fire_by_themselves_on_the_system_clock() -> None:
    processor = DomainEventsProcessor()
    seen: list[str] = []
    processor.register_handler(Message, lambda e: seen.append(e.clinic_id), name="h")
    bus = InMemoryEventBus(processor, clock=SystemClock())
    bus.publish(Message(clinic_id="later"), delay=timedelta(milliseconds=100))
    assert seen == []
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == ["later"]
