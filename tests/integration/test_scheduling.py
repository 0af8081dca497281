"""Scheduled and recurring events on Redis: due-time order, cancel, movers racing, N schedulers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import redis

from hexbus import DomainEvent, DomainEventsProcessor, PublishOutcome
from hexbus.adapters.dramatiq import DramatiqEventBus, RedisKeys, WorkerRuntime
from hexbus.adapters.dramatiq.maintenance import Maintenance
from hexbus.adapters.dramatiq.schedule_state import RedisScheduleState
from hexbus.application.recurring import RecurringSchedule, RecurringScheduler, Tick
from hexbus.ports.schedules import CatchUp
from hexbus.testing.redis_server import RedisServer

from .conftest import wait_for

pytestmark = pytest.mark.redis


@attrs.frozen(kw_only=True)
class Reminder(DomainEvent):
    event_type = "it.reminder"
    label: str


@pytest.fixture
def setup(
    redis_server: RedisServer, namespace: str
) -> Iterator[tuple[DramatiqEventBus, list[tuple[str, float]], redis.Redis]]:
    processor = DomainEventsProcessor()
    seen: list[tuple[str, float]] = []
    lock = threading.Lock()

    def remind(event: Reminder) -> None:
        with lock:
            seen.append((event.label, time.time()))

    processor.register_handler(Reminder, remind, name="it.remind", queue="reminders")
    client = redis_server.client()
    keys = RedisKeys(namespace)
    bus = DramatiqEventBus(processor, client, keys=keys)
    runtime = WorkerRuntime(
        processor=processor, client=client, queues=["reminders"], threads=2, keys=keys
    )
    runtime.start()
    yield bus, seen, client
    runtime.stop(timedelta(seconds=5))


def test_delayed_events_fire_in_due_order_not_publish_order(setup) -> None:  # type: ignore[no-untyped-def]
    bus, seen, _ = setup
    start = time.time()
    assert bus.publish(Reminder(label="late"), delay=timedelta(seconds=1.2)).outcome is (
        PublishOutcome.SCHEDULED
    )
    bus.publish(Reminder(label="early"), delay=timedelta(seconds=0.4))
    bus.publish(Reminder(label="at"), at=datetime.now(UTC) + timedelta(seconds=0.8))
    wait_for(lambda: len(seen) == 3, timeout=10, what="three reminders")
    assert [label for label, _ in seen] == ["early", "at", "late"]
    early_at = seen[0][1] - start
    assert 0.35 <= early_at < 1.0, "not before it is due, and promptly after"


def test_cancel_and_reschedule_until_delivered(setup) -> None:  # type: ignore[no-untyped-def]
    bus, seen, _ = setup
    cancelled = Reminder(label="cancelled")
    moved = Reminder(label="moved")
    bus.publish(cancelled, delay=timedelta(seconds=0.5))
    bus.publish(moved, delay=timedelta(seconds=5))
    assert bus.cancel(cancelled.event_id) is True
    assert bus.cancel(cancelled.event_id) is False, "already cancelled"
    assert bus.reschedule(moved.event_id, delay=timedelta(seconds=0.3)) is True
    wait_for(lambda: seen, timeout=5, what="the moved reminder")
    time.sleep(0.7)
    assert [label for label, _ in seen] == ["moved"]
    assert bus.cancel(moved.event_id) is False, "delivered: nothing to cancel"
    assert bus.reschedule(moved.event_id, delay=timedelta(seconds=1)) is False
    assert bus.publish(cancelled).duplicate, "a cancelled event_id stays used"


def test_many_movers_never_fire_an_entry_twice(setup, namespace: str) -> None:  # type: ignore[no-untyped-def]
    bus, seen, client = setup
    events = [Reminder(label=f"r{i}") for i in range(300)]
    due = datetime.now(UTC) + timedelta(milliseconds=300)
    for event in events:
        bus.publish(event, at=due)
    movers = [
        Maintenance(client, RedisKeys(namespace), broker_id=f"m{i}", queues=["reminders"])
        for i in range(4)
    ]
    stop = threading.Event()

    def race(mover: Maintenance) -> None:
        while not stop.is_set():
            mover.move_due()

    threads = [threading.Thread(target=race, args=(m,)) for m in movers]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(seen) >= 300, timeout=15, what="300 reminders")
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    labels = [label for label, _ in seen]
    assert len(labels) == 300
    assert len(set(labels)) == 300, "no reminder fired twice"


def test_scheduled_events_survive_a_restart_of_every_process() -> None:
    processor = DomainEventsProcessor()
    seen: list[str] = []
    processor.register_handler(Reminder, lambda e: seen.append(e.label), name="r", queue="q")
    server = RedisServer(persist=True)
    server.start()
    try:
        keys = RedisKeys("restart")
        DramatiqEventBus(processor, server.client(), keys=keys).publish(
            Reminder(label="kept"), delay=timedelta(seconds=1)
        )
        server.kill()  # Redis itself crashes too; its append-only file keeps the schedule
        server.start()
        client = server.client()
        runtime = WorkerRuntime(
            processor=processor, client=client, queues=["q"], threads=1, keys=keys
        )
        runtime.start()
        try:
            wait_for(lambda: seen == ["kept"], timeout=10, what="the reminder after restart")
        finally:
            runtime.stop(timedelta(seconds=5))
    finally:
        server.stop()


def test_a_recurring_tick_fires_once_with_several_schedulers(setup, namespace: str) -> None:  # type: ignore[no-untyped-def]
    bus, seen, client = setup
    state = RedisScheduleState(client, RedisKeys(namespace))

    def make(tick: Tick) -> Reminder:
        return Reminder(event_id=tick.event_id, occurred_at=tick.at, label=tick.at.isoformat())

    schedulers = []
    for _ in range(3):
        scheduler = RecurringScheduler(bus, state, lambda: datetime.now(UTC))
        scheduler.add(
            RecurringSchedule(name="every-second", every=timedelta(seconds=1), make_event=make)
        )
        schedulers.append(scheduler)
    deadline = time.monotonic() + 3.2
    while time.monotonic() < deadline:
        for scheduler in schedulers:
            scheduler.run_due()
        time.sleep(0.05)
    wait_for(lambda: len(seen) >= 3, timeout=5, what="three ticks")
    time.sleep(0.3)
    labels = [label for label, _ in seen]
    assert len(labels) == len(set(labels)), "each tick once"
    assert 3 <= len(labels) <= 4


def test_missed_ticks_are_skipped_or_run_once(setup, namespace: str) -> None:  # type: ignore[no-untyped-def]
    bus, seen, client = setup
    state = RedisScheduleState(client, RedisKeys(namespace))
    long_ago = datetime.now(UTC) - timedelta(hours=5)
    for name in ("skipper", "runner"):
        state.record_tick(name, long_ago)
    scheduler = RecurringScheduler(bus, state, lambda: datetime.now(UTC))

    def make(tick: Tick) -> Reminder:
        return Reminder(event_id=tick.event_id, label=f"{tick.schedule}@{tick.at:%H:%M}")

    scheduler.add(RecurringSchedule(name="skipper", every=timedelta(hours=1), make_event=make))
    scheduler.add(
        RecurringSchedule(
            name="runner", every=timedelta(hours=1), make_event=make, catch_up=CatchUp.RUN_ONCE
        )
    )
    assert scheduler.run_due() == 1
    wait_for(lambda: seen, timeout=5, what="the catch-up tick")
    time.sleep(0.2)
    assert len(seen) == 1
    assert seen[0][0].startswith("runner@")
    assert scheduler.run_due() == 0, "the missed ticks are dealt with"
