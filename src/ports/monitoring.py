"""Operators' view of the bus: each event's status per handler, counts per queue, pausing.

Both adapters implement :class:`QueueMonitor`; the REST API, the dashboard, the CLI, health and
metrics read only through it. A stats call costs the same with 10 or 1,000,000 events queued:
adapters keep counters, they never scan the data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol
from uuid import UUID

import attrs


class HandlerState(Enum):
    """Where one handler is with one event."""

    SCHEDULED = "scheduled"
    """Held until a due time (a delayed event, or a run waiting for a rate-limit slot)."""
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """The last attempt failed and another is scheduled."""
    DEAD = "dead"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class LogLine:
    """A line a handler wrote through ``hexbus.handler_context().log``."""

    at: datetime
    attempt: int
    text: str


@attrs.frozen(kw_only=True)
class HandlerStatus:
    """One handler's progress with one event.

    ``progress`` (0-100) and ``log`` are what the handler itself reported through
    ``hexbus.handler_context()``: the last progress of any attempt, and the newest lines of
    every attempt, oldest first; None and empty when it reported nothing.
    """

    handler: str
    queue: str
    state: HandlerState
    attempts: int = 0
    last_error: str | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    duration: timedelta | None = None
    next_attempt_at: datetime | None = None
    progress: float | None = None
    log: tuple[LogLine, ...] = ()


@attrs.frozen(kw_only=True)
class EventStatus:
    """An event's handlers and where each one is."""

    event_id: UUID
    event_type: str | None
    published_at: datetime | None
    due_at: datetime | None
    handlers: tuple[HandlerStatus, ...]

    @property
    def state(self) -> HandlerState:
        """The least advanced handler's state: what the event as a whole is waiting on."""
        order = list(HandlerState)
        if not self.handlers:
            return HandlerState.SUCCEEDED
        worst = {HandlerState.DEAD: 0, HandlerState.FAILED: 1}
        return min(
            (h.state for h in self.handlers),
            key=lambda s: (worst.get(s, 2), order.index(s)),
        )


@attrs.frozen(kw_only=True)
class QueueStats:
    """A queue's counts now, and its recent work over ``window``."""

    queue: str
    waiting: int
    scheduled: int
    running: int
    dead: int
    succeeded: int
    failed: int
    window: timedelta
    mean_duration: timedelta | None
    paused: bool = False
    problem: str | None = None
    """What could not be read for this queue (a Redis key of the wrong type, named with the
    error): the counts it holds read 0. None when every count was read."""

    @property
    def throughput_per_minute(self) -> float:
        """Handler runs finished (either way) per minute over the window."""
        minutes = self.window.total_seconds() / 60
        return (self.succeeded + self.failed) / minutes if minutes else 0.0

    @property
    def failure_rate(self) -> float:
        """Failed runs as a fraction of finished runs in the window (0 when none finished)."""
        finished = self.succeeded + self.failed
        return self.failed / finished if finished else 0.0


@attrs.frozen(kw_only=True)
class UnroutedStats:
    """Events of one type accepted while no handler subscribed to it (ADR 0015).

    ``count`` is every such event since the bus began counting; ``kept`` those still held for
    a handler that subscribes later (``HEXBUS_UNROUTED=keep``, within its retention).
    """

    event_type: str
    count: int
    kept: int


class QueueMonitor(Protocol):
    """Reads status and statistics; cleans records past their retention."""

    def event_status(self, event_id: UUID) -> EventStatus | None:
        """The event's status per handler, or None when unknown or expired."""
        ...

    def queue_stats(self) -> list[QueueStats]:
        """Every known queue's stats, by name."""
        ...

    def unrouted(self) -> list[UnroutedStats]:
        """Per event type, the events accepted with no handler subscribed, by type."""
        ...

    def clean(self, *, state: HandlerState, older_than: timedelta) -> int:
        """Remove records now: ``SUCCEEDED`` statuses or ``DEAD`` letters older than
        ``older_than`` (zero: all of them). Returns how many went. Records past their
        retention also go by themselves."""
        ...


class QueueControl(Protocol):
    """Pausing a queue: its events are kept, its workers take nothing new until resumed."""

    def pause(self, queue: str) -> None:
        """Stop handing out the queue's messages."""
        ...

    def resume(self, queue: str) -> None:
        """Hand them out again."""
        ...

    def paused(self) -> frozenset[str]:
        """The queues paused now."""
        ...
