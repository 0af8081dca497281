"""The contract suite against async adapters: the same tests, awaited underneath.

:class:`AsyncBusHarness` turns a sync harness's deployment into an async one, keeping every
test's meaning: the bus under test is an :class:`~hexbus.AsyncEventBus`, each of the suite's
``publish`` calls is an ``await`` on it (run on a loop thread of the harness, so the test reads
as before), and every handler the suite registers runs as an ``async def`` handler (its
processor, :class:`AsyncHandlersProcessor`, registers a coroutine around each plain one, with
a real suspension point). So one run proves both halves of asyncio support: the async
publisher keeps the contract, and coroutine handlers are delivered, retried, timed out (by
cancellation) and dead-lettered exactly as plain ones. ``slow_handler`` awaits
``asyncio.sleep`` in real time, so a timeout cancels it rather than waiting for it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

from ..adapters.clocks import VirtualClock
from ..adapters.event_loop import EventLoopThread
from ..adapters.in_memory.async_event_bus import AsyncInMemoryEventBus
from ..application.processor import DomainEventsProcessor, EventTypeRef, derive_handler_name
from ..domain.events import DomainEvent
from ..ports.async_event_bus import AsyncEventBus, AsyncEventScheduler
from ..ports.dead_letters import DeadLetters
from ..ports.event_bus import PublishResult
from ..ports.handlers import Handler, HandlerSpec
from ..ports.monitoring import QueueMonitor
from .harness import BusHarness, InMemoryHarness

T = TypeVar("T")


class AsyncSchedulingEventBus(AsyncEventBus, AsyncEventScheduler, Protocol):
    """An async bus that publishes and schedules: what both async adapters are."""


class AsyncHandlersProcessor(DomainEventsProcessor):
    """A handler registry that registers every plain handler as an ``async def`` one.

    The coroutine yields to the loop once before calling the handler, so it really is a task
    among others; a coroutine function is registered as it is. Names, queues and options are
    the caller's, unchanged.
    """

    def register_handler(
        self, event_type: EventTypeRef, handler: Handler, **options: Any
    ) -> HandlerSpec:
        """Register ``handler`` (made a coroutine function if it is not one)."""
        if callable(handler) and not inspect.iscoroutinefunction(handler):
            options["name"] = options.get("name") or derive_handler_name(handler)
            handler = _as_coroutine(handler)
        return super().register_handler(event_type, handler, **options)


def _as_coroutine(handler: Handler) -> Callable[[Any], Coroutine[Any, Any, object]]:
    async def handle(event: Any) -> object:
        await asyncio.sleep(0)
        outcome = handler(event)
        if inspect.isawaitable(outcome):  # a plain callable handing on a coroutine
            outcome = await outcome
        return outcome

    return handle


class BlockingBus:
    """An async bus driven from synchronous test code: each call is awaited on ``portal``."""

    def __init__(self, bus: AsyncSchedulingEventBus, portal: EventLoopThread) -> None:
        self.async_bus = bus
        self._portal = portal

    def publish(
        self, event: DomainEvent, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> PublishResult:
        """``await bus.publish(...)``."""
        return self._wait(self.async_bus.publish(event, delay=delay, at=at))

    def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """``await bus.publish_all(...)``."""
        return self._wait(self.async_bus.publish_all(list(events)))

    def cancel(self, event_id: UUID) -> bool:
        """``await bus.cancel(...)``."""
        return self._wait(self.async_bus.cancel(event_id))

    def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """``await bus.reschedule(...)``."""
        return self._wait(self.async_bus.reschedule(event_id, delay=delay, at=at))

    def _wait(self, call: Coroutine[Any, Any, T]) -> T:
        return self._portal.submit(call).result()


class AsyncBusHarness:
    """A :class:`BusHarness` whose bus and publisher are async adapters, over ``inner``'s
    deployment (its workers, dead letters, monitor, time), with coroutine handlers.

    ``inner`` must have been built with an :class:`AsyncHandlersProcessor`. ``redeliver`` is
    the async bus's own; ``close`` releases the async buses (their clients) on the portal.
    """

    def __init__(
        self,
        inner: BusHarness,
        *,
        bus: AsyncSchedulingEventBus,
        publisher: AsyncSchedulingEventBus,
        redeliver: Callable[[DomainEvent], Awaitable[None]],
        real_time: bool,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if not isinstance(inner.processor, AsyncHandlersProcessor):
            raise TypeError("the inner harness must register handlers as coroutines")
        self.inner = inner
        self.portal = EventLoopThread(name="hexbus-contract-portal")
        self._bus = BlockingBus(bus, self.portal)
        self._publisher = BlockingBus(publisher, self.portal)
        self._redeliver = redeliver
        self._real_time = real_time
        self._close = close

    @property
    def processor(self) -> DomainEventsProcessor:
        """The inner deployment's registry (handlers become coroutines)."""
        return self.inner.processor

    @property
    def bus(self) -> BlockingBus:
        """The async bus under test (the inner deployment is readied first: its workers)."""
        _ = self.inner.bus
        return self._bus

    @property
    def publisher(self) -> BlockingBus:
        """The async publisher with no handler registry."""
        _ = self.inner.publisher
        return self._publisher

    @property
    def monitor(self) -> QueueMonitor:
        """The inner deployment's monitor."""
        return self.inner.monitor

    @property
    def dead_letters(self) -> DeadLetters:
        """The inner deployment's dead letters."""
        return self.inner.dead_letters

    def settle(self, timeout: float = 10.0) -> None:
        """As the inner harness settles."""
        self.inner.settle(timeout)

    def redeliver(self, event: DomainEvent) -> None:
        """Deliver ``event`` again through the async bus."""
        _ = self.inner.bus
        self.portal.submit(_awaited(self._redeliver(event))).result()

    def advance(self, delta: timedelta) -> None:
        """As the inner harness lets time pass."""
        self.inner.advance(delta)

    def slow_handler(self, seconds: float) -> Callable[[Any], Any]:
        """An ``async def`` handler taking ``seconds``: awaited sleep in real time (a timeout
        cancels it), the inner harness's slow handler in virtual time."""
        if not self._real_time:
            return self.inner.slow_handler(seconds)

        async def slow(event: Any) -> None:
            await asyncio.sleep(seconds)

        return slow

    def close(self) -> None:
        """Release the async buses, then the inner harness."""
        try:
            if self._close is not None:
                self.portal.submit(_awaited(self._close())).result()
        finally:
            self.portal.stop()
            self.inner.close()


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


class AsyncInMemoryHarness(AsyncBusHarness):
    """The async in-memory bus on a :class:`VirtualClock`, with coroutine handlers."""

    def __init__(self, *, start: datetime | None = None) -> None:
        inner = InMemoryHarness(start=start, processor=AsyncHandlersProcessor())
        self.async_bus = AsyncInMemoryEventBus(inner.bus)
        self.clock: VirtualClock = inner.clock
        super().__init__(
            inner,
            bus=self.async_bus,
            publisher=self.async_bus,
            redeliver=self.async_bus.redeliver,
            real_time=False,
            close=self._release,
        )

    async def _release(self) -> None:
        self.async_bus.close()


__all__ = [
    "AsyncBusHarness",
    "AsyncHandlersProcessor",
    "AsyncInMemoryHarness",
    "AsyncSchedulingEventBus",
    "BlockingBus",
]
