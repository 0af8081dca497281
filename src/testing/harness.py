"""What the contract suite needs from an adapter, and the harness for the in-memory bus.

The suite (:class:`hexbus.testing.EventBusContract`) never names an adapter. It talks to a
:class:`BusHarness`: the bus under test, the registry where the work happens (its handlers), a
publisher that has no handler registered, its dead letters and monitor, and four verbs that
hide how the adapter runs work. ``settle`` waits for accepted work to finish,
``advance`` moves time, ``redeliver`` plays an at-least-once broker delivering twice, and
``slow_handler`` makes a handler "take long" in whatever time the adapter lives on. An adapter
proves itself by providing a harness and subclassing the suite (see ``tests/contract``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..adapters.clocks import VirtualClock
from ..adapters.in_memory.event_bus import InMemoryEventBus
from ..adapters.in_memory.monitor import InMemoryMonitor
from ..application.processor import DomainEventsProcessor
from ..domain.events import DomainEvent
from ..ports.dead_letters import DeadLetters
from ..ports.event_bus import EventBus, EventScheduler
from ..ports.monitoring import QueueMonitor


class SchedulingEventBus(EventBus, EventScheduler, Protocol):
    """A bus that publishes and schedules: what both of hexbus's adapters are."""


class BusHarness(Protocol):
    """One adapter, ready for the contract suite.

    The members are read-only properties so that a harness may declare them with its concrete
    types (``bus: DramatiqEventBus``). ``processor`` is where the work happens: on a queue
    adapter, what its workers run. A handler registered there after an event was published
    is a subscriber that came later (a worker started after the publisher): the adapter must
    deliver it the events published from then on, and the ones that had no subscriber at all
    (kept, ADR 0015), not the ones other handlers already got.
    """

    @property
    def processor(self) -> DomainEventsProcessor:
        """The handler registry where the work happens (a queue adapter's workers')."""
        ...

    @property
    def bus(self) -> SchedulingEventBus:
        """The adapter under test."""
        ...

    @property
    def publisher(self) -> SchedulingEventBus:
        """A bus of the same deployment with no handler registered: it knows the event
        classes only, as a web process that only publishes (the in-memory bus, being one
        process, is its own publisher)."""
        ...

    @property
    def monitor(self) -> QueueMonitor:
        """The bus's monitor (the contract reads the unrouted counts from it)."""
        ...

    @property
    def dead_letters(self) -> DeadLetters:
        """The bus's dead letters."""
        ...

    def settle(self, timeout: float = 10.0) -> None:
        """Return once every accepted, due event has been handled, retried or dead-lettered.

        Immediate for a synchronous bus; a queue adapter waits for its workers, polling with a
        deadline, and raises AssertionError naming what is still pending at the deadline.
        """
        ...

    def redeliver(self, event: DomainEvent) -> None:
        """Deliver ``event`` again, as an at-least-once broker may after a crash."""
        ...

    def advance(self, delta: timedelta) -> None:
        """Let ``delta`` pass, so scheduled events and backoffs come due, and settle.

        Virtual time moves at once; a real-time adapter sleeps.
        """
        ...

    def slow_handler(self, seconds: float) -> Callable[[Any], None]:
        """A handler that takes ``seconds`` in the adapter's time (and can be timed out)."""
        ...

    def close(self) -> None:
        """Release what the harness started (workers, keys, threads)."""
        ...


class InMemoryHarness:
    """The in-memory bus on a :class:`VirtualClock`: nothing waits, nothing sleeps.

    Handlers run inside ``publish``, so ``settle`` only fires what the clock already has due;
    retries back off on the virtual clock, so they too are over when ``publish`` returns.
    """

    def __init__(
        self, *, start: datetime | None = None, processor: DomainEventsProcessor | None = None
    ) -> None:
        self.clock = VirtualClock(start)
        self.processor = processor if processor is not None else DomainEventsProcessor()
        self.bus = InMemoryEventBus(self.processor, clock=self.clock)
        self.publisher = self.bus  # one process: the routes are the processor itself
        self.dead_letters: DeadLetters = self.bus.dead_letters
        self.monitor = InMemoryMonitor(
            self.processor,
            self.clock,
            self.dead_letters,
            control=self.bus,
            unrouted=self.bus.unrouted_stats,
        )
        self.bus.observer.add(self.monitor)

    def settle(self, timeout: float = 10.0) -> None:
        """Fire whatever is due by the virtual clock; everything else already ran."""
        self.bus.run_due()

    def redeliver(self, event: DomainEvent) -> None:
        """Hand the event to the bus again, past the publish de-duplication."""
        self.bus.redeliver(event)

    def advance(self, delta: timedelta) -> None:
        """Move virtual time, firing what comes due in order of due time."""
        self.bus.advance(delta)

    def slow_handler(self, seconds: float) -> Callable[[Any], None]:
        """A handler that sleeps ``seconds`` on the virtual clock (so it overruns at once)."""
        clock = self.clock

        def slow(event: Any) -> None:
            clock.sleep(seconds)

        return slow

    def close(self) -> None:
        """Nothing to release: no threads run on a virtual clock."""


__all__ = ["BusHarness", "InMemoryHarness", "SchedulingEventBus"]
