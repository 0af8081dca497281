"""The in-memory monitor keeps the same status and stats as Redis's, on virtual time."""

from __future__ import annotations

from datetime import timedelta

import attrs

from hexbus import DomainEventsProcessor, NonRetryableError, RetryPolicy
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.monitor import InMemoryMonitor
from hexbus.domain.events import DomainEvent
from hexbus.ports.monitoring import HandlerState


@attrs.frozen(kw_only=True)
class Task(DomainEvent):
    event_type = "unit.monitor_task"
    fail: bool = False


def build():  # type: ignore[no-untyped-def]
    clock = VirtualClock()
    processor = DomainEventsProcessor()

    def work(event: Task) -> None:
        clock.sleep(0.25)
        if event.fail:
            raise NonRetryableError("no")

    processor.register_handler(Task, work, name="work", queue="jobs", retry=RetryPolicy())
    processor.register_handler(Task, lambda e: None, name="audit", queue="audit")
    bus = InMemoryEventBus(processor, clock=clock)
    monitor = InMemoryMonitor(processor, clock, bus.dead_letters, control=bus)
    bus.observer.add(monitor)
    return clock, bus, monitor


def test_each_handler_has_its_own_status() -> None:
    _, bus, monitor = build()
    ok, bad = Task(), Task(fail=True)
    bus.publish(ok)
    bus.publish(bad)
    good = {h.handler: h for h in monitor.event_status(ok.event_id).handlers}
    assert good["work"].state is HandlerState.SUCCEEDED
    assert good["work"].duration == timedelta(seconds=0.25)
    failed = {h.handler: h for h in monitor.event_status(bad.event_id).handlers}
    assert failed["work"].state is HandlerState.DEAD
    assert failed["work"].last_error == "NonRetryableError: no"
    assert failed["audit"].state is HandlerState.SUCCEEDED
    assert monitor.event_status(Task().event_id) is None


def test_scheduled_then_cancelled() -> None:
    _, bus, monitor = build()
    later = Task()
    bus.publish(later, delay=timedelta(hours=1))
    assert {h.state for h in monitor.event_status(later.event_id).handlers} == {
        HandlerState.SCHEDULED
    }
    assert {s.queue: s for s in monitor.queue_stats()}["jobs"].scheduled == 1
    bus.cancel(later.event_id)
    assert {h.state for h in monitor.event_status(later.event_id).handlers} == {
        HandlerState.CANCELLED
    }


def test_stats_count_the_window_and_the_dead() -> None:
    clock, bus, monitor = build()
    for _ in range(3):
        bus.publish(Task())
    bus.publish(Task(fail=True))
    jobs = {s.queue: s for s in monitor.queue_stats()}["jobs"]
    assert (jobs.succeeded, jobs.failed, jobs.dead, jobs.waiting) == (3, 1, 1, 0)
    assert jobs.mean_duration == timedelta(seconds=0.25)
    clock.advance(timedelta(minutes=30))
    jobs = {s.queue: s for s in monitor.queue_stats()}["jobs"]
    assert (jobs.succeeded, jobs.failed, jobs.dead) == (0, 0, 1), "window passed; dead remain"


def test_a_paused_queue_keeps_its_deliveries_until_resumed() -> None:
    _, bus, monitor = build()
    bus.pause("jobs")
    task = Task()
    bus.publish(task)
    states = {h.handler: h.state for h in monitor.event_status(task.event_id).handlers}
    assert states == {"work": HandlerState.QUEUED, "audit": HandlerState.SUCCEEDED}
    assert {s.queue: s for s in monitor.queue_stats()}["jobs"].paused
    bus.resume("jobs")
    states = {h.handler: h.state for h in monitor.event_status(task.event_id).handlers}
    assert states["work"] is HandlerState.SUCCEEDED


def test_clean_and_the_succeeded_cap() -> None:
    clock = VirtualClock()
    processor = DomainEventsProcessor()
    processor.register_handler(Task, lambda e: None, name="h", queue="q")
    bus = InMemoryEventBus(processor, clock=clock)
    monitor = InMemoryMonitor(processor, clock, bus.dead_letters, succeeded_keep=3)
    bus.observer.add(monitor)
    tasks = [Task() for _ in range(5)]
    for task in tasks:
        bus.publish(task)
    assert [monitor.event_status(t.event_id) is not None for t in tasks] == [
        False,
        False,
        True,
        True,
        True,
    ]
    assert monitor.clean(state=HandlerState.SUCCEEDED, older_than=timedelta(0)) == 3
    assert monitor.event_status(tasks[-1].event_id) is None
