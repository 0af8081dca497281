"""The async in-memory bus: :class:`InMemoryEventBus`, awaited.

It is the same bus, not a second one: publishing through either reaches the same handlers,
deduplicates against the same event ids and shares the same virtual clock, scheduled events
and dead letters, so sync and async code of one application (or one test) interoperate by
construction. ``await bus.publish(event)`` hands the synchronous dispatch to the bus's own
dispatching thread, one at a time, and awaits it, so the caller's loop is free meanwhile and
runs the ``async def`` handlers of that dispatch (see :mod:`.coroutines`); plain handlers run
on the dispatching thread. As with the synchronous bus, an event's first attempts are over
when the ``await`` returns.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from ...domain.events import DomainEvent
from ...ports.event_bus import PublishResult
from .coroutines import CALLER_LOOP, handed_back
from .event_bus import InMemoryEventBus

T = TypeVar("T")


class AsyncInMemoryEventBus:
    """An :class:`~hexbus.AsyncEventBus` and :class:`~hexbus.ports.async_event_bus.
    AsyncEventScheduler` over ``bus`` (whose records, dead letters and clock it shares)."""

    def __init__(self, bus: InMemoryEventBus) -> None:
        self.bus = bus
        self._dispatching = ThreadPoolExecutor(1, thread_name_prefix="hexbus-in-memory-async")

    async def publish(
        self,
        event: DomainEvent,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> PublishResult:
        """Dispatch ``event`` to its handlers now, or hold it until ``delay``/``at``."""
        return await self._call(functools.partial(self.bus.publish, event, delay=delay, at=at))

    async def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish each event in order; later copies of an event_id are duplicates."""
        return await self._call(functools.partial(self.bus.publish_all, list(events)))

    async def cancel(self, event_id: UUID) -> bool:
        """Cancel a scheduled event; False when it is not pending."""
        return await self._call(functools.partial(self.bus.cancel, event_id))

    async def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """Move a pending event to a new due time; False when it is not pending."""
        return await self._call(
            functools.partial(self.bus.reschedule, event_id, delay=delay, at=at)
        )

    async def advance(self, delta: timedelta) -> int:
        """Move the bus's :class:`~hexbus.adapters.clocks.VirtualClock` forward, firing what
        comes due (with its async handlers on this loop)."""
        return await self._call(functools.partial(self.bus.advance, delta))

    async def run_due(self) -> int:
        """Fire what is due by the clock."""
        return await self._call(self.bus.run_due)

    async def redeliver(self, event: DomainEvent) -> None:
        """Deliver ``event`` again, past the publish de-duplication (contract tests)."""
        await self._call(functools.partial(self.bus.redeliver, event))

    def close(self) -> None:
        """Let the dispatching thread go (the bus itself stays usable)."""
        self._dispatching.shutdown(wait=False)

    async def _call(self, call: Callable[[], T]) -> T:
        if handed_back() is not None:
            # Awaited by a coroutine handler of a dispatch in progress: the dispatching thread
            # is waiting for that handler, and queues the call itself (it only enqueues).
            return call()
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        context.run(CALLER_LOOP.set, loop)
        return await loop.run_in_executor(self._dispatching, context.run, call)
