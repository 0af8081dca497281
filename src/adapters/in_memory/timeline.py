"""What the in-memory bus holds for later: scheduled events, rate-limited deliveries, retries.

One heap ordered by due time (then by arrival, so equal times keep publish order). Cancelling
or rescheduling leaves the old heap entry behind and forgets its sequence number; stale
entries are skipped when they reach the top, so both are O(log n).
"""

from __future__ import annotations

import heapq
from datetime import datetime
from uuid import UUID

import attrs

from ...domain.events import DomainEvent
from ...ports.handlers import HandlerSpec


@attrs.define
class Due:
    """An event due at ``due_at``, for all its handlers or (``only``) some of them.

    ``routes`` are the handlers a whole event was routed to when it was published (ADR 0015:
    delayed events are routed at publish); None when it had none then, to be routed when due.
    ``attempt`` is the attempt it will be for those handlers: 1, or more for a retry.
    """

    event: DomainEvent
    due_at: datetime
    sequence: int
    only: tuple[HandlerSpec, ...] | None = None
    routes: tuple[HandlerSpec, ...] | None = None
    attempt: int = 1


class Timeline:
    """Events and deliveries held until a time, soonest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int]] = []
        self._entries: dict[int, Due] = {}
        self._by_event: dict[UUID, int] = {}
        self._sequence = 0

    def hold(
        self,
        event: DomainEvent,
        due_at: datetime,
        only: tuple[HandlerSpec, ...] | None = None,
        routes: tuple[HandlerSpec, ...] | None = None,
        attempt: int = 1,
    ) -> None:
        """Keep ``event`` until ``due_at``. Only whole events (``only`` None) can be cancelled."""
        self._sequence += 1
        self._entries[self._sequence] = Due(event, due_at, self._sequence, only, routes, attempt)
        if only is None:
            self._by_event[event.event_id] = self._sequence
        heapq.heappush(self._heap, (due_at, self._sequence))

    def cancel(self, event_id: UUID) -> Due | None:
        """Forget a held event; returns it, or None when it was not held."""
        sequence = self._by_event.pop(event_id, None)
        if sequence is None:
            return None
        return self._entries.pop(sequence)

    def next_time(self) -> datetime | None:
        """When the next held thing is due."""
        while self._heap and self._heap[0][1] not in self._entries:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop_due(self, horizon: datetime) -> Due | None:
        """The soonest thing due at or before ``horizon``, removed; None if nothing is."""
        due_time = self.next_time()
        if due_time is None or due_time > horizon:
            return None
        _, sequence = heapq.heappop(self._heap)
        due = self._entries.pop(sequence)
        if due.only is None:
            self._by_event.pop(due.event.event_id, None)
        return due

    def scheduled_events(self) -> list[Due]:
        """Held whole events (not rate-limited deliveries or retries), soonest first."""
        held = [self._entries[s] for s in self._by_event.values()]
        return sorted(held, key=lambda d: (d.due_at, d.sequence))

    def __len__(self) -> int:
        return len(self._entries)
