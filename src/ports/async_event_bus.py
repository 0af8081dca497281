"""The ports an ``async`` application publishes and schedules through.

:class:`AsyncEventBus` is :class:`~hexbus.ports.event_bus.EventBus` awaited: the same
arguments, the same :class:`~hexbus.ports.event_bus.PublishResult`, the same errors and the
same guarantees (the contract suite runs against its adapters through
:class:`hexbus.testing.AsyncBusHarness`). An async bus and a sync bus of one deployment share
their state: an event published by either is handled like any other, and deduplicated against
both (ADR 0022).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from ..domain.events import DomainEvent
from .event_bus import PublishResult


class AsyncEventBus(Protocol):
    """Publishes domain events without blocking the caller's event loop.

    Guarantees: those of :class:`~hexbus.ports.event_bus.EventBus`, every one; only the
    waiting differs (``await`` instead of a blocked thread).
    """

    async def publish(
        self,
        event: DomainEvent,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> PublishResult:
        """Publish one event, now or at a later time (give ``delay`` or ``at``, not both).

        Raises :class:`~hexbus.EventBusUnavailable` when the bus could not be reached or did
        not answer in time (publishing again is safe: the event_id deduplicates), and
        :class:`~hexbus.EventBusRejected` for a refusal that retrying cannot change. A
        cancelled ``await`` is an unknown outcome too: the event may have been accepted.
        """
        ...

    async def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish several events in one go, reporting each in order (later copies of an
        event_id in the batch are duplicates)."""
        ...


class AsyncEventScheduler(Protocol):
    """Moves or cancels events published with a delay, awaited."""

    async def cancel(self, event_id: UUID) -> bool:
        """Cancel a scheduled event; False when it was not pending (nothing changes)."""
        ...

    async def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """Move a pending event to a new due time; False when it was not pending."""
        ...
