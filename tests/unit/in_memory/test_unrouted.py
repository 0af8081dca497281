"""The in-memory bus's routes are its processor: what it does with an event no handler is
registered for, and with the handlers registered after (ADR 0015), on virtual time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from hexbus import DomainEvent, DomainEventsProcessor, HandlerSpec
from hexbus.adapters.clocks import VirtualClock
from hexbus.adapters.in_memory import InMemoryEventBus
from hexbus.adapters.in_memory.monitor import InMemoryMonitor
from hexbus.adapters.in_memory.routes import THIS_PROCESS, InMemoryRoutes
from hexbus.application.unrouted import UnroutedPolicy
from hexbus.ports.monitoring import UnroutedStats
from hexbus.testing import RecordingHandler

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class Filed(DomainEvent):
    event_type = "unit.unrouted.filed"

    value: int = 0


@attrs.define
class World:
    clock: VirtualClock
    processor: DomainEventsProcessor
    bus: InMemoryEventBus


def world(policy: UnroutedPolicy | None = None) -> World:
    clock = VirtualClock(START)
    processor = DomainEventsProcessor()
    return World(clock, processor, InMemoryEventBus(processor, clock=clock, unrouted=policy))


def stats(w: World) -> list[UnroutedStats]:
    return w.bus.unrouted_stats()


def test_the_processor_tells_its_listeners_of_each_registration() -> None:
    processor = DomainEventsProcessor()
    told: list[HandlerSpec] = []
    processor.on_register(told.append)

    spec = processor.register_handler(Filed, print, name="unit.print")

    assert told == [spec]


def test_an_event_with_no_handler_is_accepted_counted_and_kept() -> None:
    w = world()

    result = w.bus.publish(Filed(value=1))

    assert result.accepted
    assert result.unrouted
    assert stats(w) == [UnroutedStats(event_type=Filed.event_type, count=1, kept=1)]


def test_count_only_counts() -> None:
    w = world(UnroutedPolicy(keep=False))
    w.bus.publish(Filed(value=1))
    late = RecordingHandler()

    w.processor.register_handler(Filed, late, name="unit.late")
    w.bus.run_due()

    assert stats(w) == [UnroutedStats(event_type=Filed.event_type, count=1, kept=0)]
    assert late.calls == 0


def test_kept_events_go_to_a_handler_registered_later_at_the_next_step_of_time() -> None:
    w = world()
    event = Filed(value=1)
    w.bus.publish(event)
    late = RecordingHandler()

    w.processor.register_handler(Filed, late, name="unit.late")
    during_registration = late.calls
    w.bus.run_due()

    assert during_registration == 0, "no handler runs inside register_handler"
    assert late.events == (event,)


def test_a_handler_registered_again_gets_only_what_it_has_not_had() -> None:
    w = world()
    w.bus.publish(Filed(value=1))
    late = RecordingHandler()
    w.processor.register_handler(Filed, late, name="unit.late")
    w.bus.run_due()
    w.processor.unregister("unit.late")
    w.bus.publish(Filed(value=2))  # kept: nobody subscribes now

    w.processor.register_handler(Filed, late, name="unit.late")
    w.bus.run_due()

    assert late.values() == [1, 2]


def test_kept_events_past_the_retention_are_dropped() -> None:
    w = world(UnroutedPolicy(retention=timedelta(hours=1)))
    w.bus.publish(Filed(value=1))
    w.bus.advance(timedelta(minutes=30))
    w.bus.publish(Filed(value=2))
    w.bus.advance(timedelta(minutes=45))
    late = RecordingHandler()

    w.processor.register_handler(Filed, late, name="unit.late")
    w.bus.run_due()

    assert late.values() == [2]
    assert stats(w) == [UnroutedStats(event_type=Filed.event_type, count=2, kept=1)]


def test_a_delayed_event_goes_to_the_handlers_it_had_when_published() -> None:
    w = world()
    early = RecordingHandler()
    w.processor.register_handler(Filed, early, name="unit.early")
    w.bus.publish(Filed(value=1), delay=timedelta(hours=1))
    later = RecordingHandler()
    w.processor.register_handler(Filed, later, name="unit.later")

    w.bus.advance(timedelta(hours=1))

    assert early.values() == [1]
    assert later.values() == [], "routed when published, as on Redis"


def test_a_delayed_event_with_no_handler_is_routed_when_due() -> None:
    w = world()
    result = w.bus.publish(Filed(value=1), delay=timedelta(hours=1))
    handler = RecordingHandler()
    w.processor.register_handler(Filed, handler, name="unit.handler")

    w.bus.advance(timedelta(hours=1))

    assert result.unrouted
    assert handler.values() == [1]


def test_the_monitor_reports_what_the_bus_counted() -> None:
    w = world()
    monitor = InMemoryMonitor(
        w.processor, w.clock, w.bus.dead_letters, unrouted=w.bus.unrouted_stats
    )
    w.bus.observer.add(monitor)

    w.bus.publish(Filed(value=1))

    assert monitor.unrouted() == [UnroutedStats(event_type=Filed.event_type, count=1, kept=1)]


def test_the_routes_are_the_registered_handlers_of_this_process() -> None:
    w = world()
    w.processor.register_handler(Filed, print, name="unit.print", queue="papers")

    (route,) = InMemoryRoutes(w.processor, w.clock).routes()

    assert (route.event_type, route.handler, route.queue) == (
        Filed.event_type,
        "unit.print",
        "papers",
    )
    assert [d.worker for d in route.declared_by] == [THIS_PROCESS]
    assert InMemoryRoutes(w.processor, w.clock).prune() == []
