"""Status and statistics for the in-memory bus, gathered as an observer.

It keeps what the Redis adapter keeps, by the same rules: each event's status per handler,
per-queue counters and per-minute buckets, succeeded statuses trimmed to the newest N and to
their retention. On this synchronous bus nothing ever waits in a queue: ``waiting`` is 0.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from ...application.handler_context import MAX_LOG_LINES
from ...application.observers import NullObserver
from ...application.processor import DomainEventsProcessor
from ...domain.events import DomainEvent
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter, DeadLetters
from ...ports.event_bus import PublishOutcome, PublishResult
from ...ports.handlers import HandlerSpec
from ...ports.monitoring import (
    EventStatus,
    HandlerState,
    HandlerStatus,
    LogLine,
    QueueControl,
    QueueStats,
    UnroutedStats,
)


@attrs.define
class _Record:
    event_type: str
    published_at: datetime
    due_at: datetime | None
    handlers: dict[str, HandlerStatus]
    finished_at: datetime | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    event: DomainEvent | None = None
    """The event itself until it is finished or cancelled (what the page's payload reads)."""


@attrs.frozen(kw_only=True)
class Kept:
    """What the monitor keeps of one event, as the in-memory browser reads it."""

    status: EventStatus
    finished_at: datetime | None
    correlation_id: str | None
    causation_id: str | None
    event: DomainEvent | None = None


class InMemoryMonitor(NullObserver):
    """The :class:`QueueMonitor` port for the in-memory bus (add it as an observer)."""

    def __init__(
        self,
        processor: DomainEventsProcessor,
        clock: Clock,
        dead_letters: DeadLetters,
        *,
        window: timedelta = timedelta(minutes=15),
        succeeded_keep: int = 1000,
        succeeded_ttl: timedelta = timedelta(hours=24),
        status_ttl: timedelta = timedelta(days=7),
        control: QueueControl | None = None,
        unrouted: Callable[[], list[UnroutedStats]] | None = None,
    ) -> None:
        self._processor = processor
        self._clock = clock
        self._dead_letters = dead_letters
        self.window = window
        self._succeeded_keep = succeeded_keep
        self._succeeded_ttl = succeeded_ttl
        self._status_ttl = status_ttl
        self._records: OrderedDict[UUID, _Record] = OrderedDict()
        self._done: OrderedDict[UUID, datetime] = OrderedDict()
        self._buckets: dict[str, dict[int, list[int]]] = defaultdict(dict)
        self._control = control
        self._unrouted = unrouted
        self._lock = threading.Lock()

    # --- observer hooks ----------------------------------------------------------------------

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        """A new event: every handler queued (or scheduled)."""
        if result.duplicate:
            return
        now = self._clock.now()
        state = (
            HandlerState.SCHEDULED
            if result.outcome is PublishOutcome.SCHEDULED
            else HandlerState.QUEUED
        )
        handlers = {
            spec.name: HandlerStatus(
                handler=spec.name,
                queue=spec.queue,
                state=state,
                updated_at=now,
                next_attempt_at=result.due_at,
            )
            for spec in self._processor.handlers_for(event.event_type)
        }
        with self._lock:
            self._records[event.event_id] = _Record(
                event.event_type,
                now,
                result.due_at,
                handlers,
                correlation_id=str(event.correlation_id) if event.correlation_id else None,
                causation_id=str(event.causation_id) if event.causation_id else None,
                event=event,
            )
            self._expire(now)

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """Running."""
        now = self._clock.now()
        self._update(
            event.event_id,
            handler,
            state=HandlerState.RUNNING,
            attempts=attempt,
            started_at=now,
            updated_at=now,
            next_attempt_at=None,
        )

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """Succeeded, counted in its queue's minute."""
        now = self._clock.now()
        self._update(
            event.event_id,
            handler,
            state=HandlerState.SUCCEEDED,
            duration=duration,
            updated_at=now,
            last_error=None,
        )
        self._count(
            handler.queue, now, succeeded=1, duration_ms=int(duration.total_seconds() * 1000)
        )
        with self._lock:
            record = self._records.get(event.event_id)
            if record and all(h.state is HandlerState.SUCCEEDED for h in record.handlers.values()):
                record.finished_at = now
                record.event = None
                self._done[event.event_id] = now
                while len(self._done) > self._succeeded_keep:
                    old, _ = self._done.popitem(last=False)
                    self._records.pop(old, None)

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """Failed (another attempt at ``retry_at``) or dead."""
        now = self._clock.now()
        state = HandlerState.FAILED if retry_at is not None else HandlerState.DEAD
        self._update(
            event.event_id,
            handler,
            state=state,
            attempts=attempt,
            updated_at=now,
            last_error=f"{type(error).__name__}: {error}",
            next_attempt_at=retry_at,
        )
        self._count(handler.queue, now, failed=1)

    def handler_progress(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, percent: float
    ) -> None:
        """Kept with the handler's status."""
        self._update(event.event_id, handler, progress=percent)

    def handler_logged(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, line: str
    ) -> None:
        """Kept with the handler's status, the newest MAX_LOG_LINES."""
        entry = LogLine(at=self._clock.now(), attempt=attempt, text=line)
        with self._lock:
            record = self._records.get(event.event_id)
            if record is None:
                return
            current = record.handlers.get(handler.name) or HandlerStatus(
                handler=handler.name, queue=handler.queue, state=HandlerState.RUNNING
            )
            kept = (*current.log, entry)[-MAX_LOG_LINES:]
            record.handlers[handler.name] = attrs.evolve(current, log=kept)

    def cancelled(self, event_id: UUID) -> None:
        """Every handler of a cancelled event is cancelled."""
        now = self._clock.now()
        with self._lock:
            record = self._records.get(event_id)
            if record:
                record.event = None
                for name, status in record.handlers.items():
                    record.handlers[name] = attrs.evolve(
                        status, state=HandlerState.CANCELLED, updated_at=now
                    )

    # --- the QueueMonitor port ---------------------------------------------------------------

    def event_status(self, event_id: UUID) -> EventStatus | None:
        """What is known of the event."""
        with self._lock:
            self._expire(self._clock.now())
            record = self._records.get(event_id)
            if record is None:
                return None
            return EventStatus(
                event_id=event_id,
                event_type=record.event_type,
                published_at=record.published_at,
                due_at=record.due_at,
                handlers=tuple(record.handlers.values()),
            )

    def kept(self) -> list[Kept]:
        """Every event's record still kept, oldest published first."""
        with self._lock:
            self._expire(self._clock.now())
            return [
                Kept(
                    status=EventStatus(
                        event_id=event_id,
                        event_type=record.event_type,
                        published_at=record.published_at,
                        due_at=record.due_at,
                        handlers=tuple(record.handlers.values()),
                    ),
                    finished_at=record.finished_at,
                    correlation_id=record.correlation_id,
                    causation_id=record.causation_id,
                    event=record.event,
                )
                for event_id, record in self._records.items()
            ]

    def queue_stats(self) -> list[QueueStats]:
        """Per queue: counters from the records and the minute buckets of the window."""
        now = self._clock.now()
        minutes = max(int(self.window.total_seconds() // 60), 1)
        current = int(now.timestamp() // 60)
        queues = {spec.queue for spec in self._processor} | set(self._buckets)
        scheduled: dict[str, int] = defaultdict(int)
        running: dict[str, int] = defaultdict(int)
        dead: dict[str, int] = defaultdict(int)
        with self._lock:
            for record in self._records.values():
                for status in record.handlers.values():
                    if status.state is HandlerState.SCHEDULED:
                        scheduled[status.queue] += 1
                    elif status.state is HandlerState.RUNNING:
                        running[status.queue] += 1
        dead.update(_dead_by_queue(self._dead_letters))
        paused = self._control.paused() if self._control else frozenset()
        stats = []
        for queue in sorted(queues):
            ok = bad = duration = 0
            for minute in range(current - minutes + 1, current + 1):
                counts = self._buckets[queue].get(minute)
                if counts:
                    ok, bad, duration = ok + counts[0], bad + counts[1], duration + counts[2]
            stats.append(
                QueueStats(
                    queue=queue,
                    waiting=0,
                    scheduled=scheduled[queue],
                    running=running[queue],
                    dead=dead[queue],
                    succeeded=ok,
                    failed=bad,
                    window=timedelta(minutes=minutes),
                    mean_duration=timedelta(milliseconds=duration / ok) if ok else None,
                    paused=queue in paused,
                )
            )
        return stats

    def unrouted(self) -> list[UnroutedStats]:
        """What the bus counted and kept of events no handler was registered for (the bus
        keeps them: ``InMemoryEventBus.unrouted_stats``)."""
        return self._unrouted() if self._unrouted is not None else []

    def clean(self, *, state: HandlerState, older_than: timedelta) -> int:
        """Drop succeeded statuses, or dead letters, older than ``older_than``."""
        horizon = self._clock.now() - older_than
        if state is HandlerState.SUCCEEDED:
            with self._lock:
                old = [e for e, at in self._done.items() if at <= horizon]
                for event_id in old:
                    self._done.pop(event_id, None)
                    self._records.pop(event_id, None)
            return len(old)
        if state is HandlerState.DEAD:
            old_letters = [d.id for d in _all_dead(self._dead_letters) if d.failed_at <= horizon]
            for dead_letter_id in old_letters:
                self._dead_letters.remove(dead_letter_id)
            return len(old_letters)
        raise ValueError("clean removes SUCCEEDED statuses or DEAD letters")

    # --- internals ---------------------------------------------------------------------------

    def _update(self, event_id: UUID, handler: HandlerSpec, **changes: Any) -> None:
        with self._lock:
            record = self._records.get(event_id)
            if record is None:
                return
            current = record.handlers.get(handler.name) or HandlerStatus(
                handler=handler.name, queue=handler.queue, state=HandlerState.QUEUED
            )
            record.handlers[handler.name] = attrs.evolve(current, **changes)

    def _count(
        self,
        queue: str,
        now: datetime,
        *,
        succeeded: int = 0,
        failed: int = 0,
        duration_ms: int = 0,
    ) -> None:
        minute = int(now.timestamp() // 60)
        with self._lock:
            bucket = self._buckets[queue].setdefault(minute, [0, 0, 0])
            bucket[0] += succeeded
            bucket[1] += failed
            bucket[2] += duration_ms
            for old in [m for m in self._buckets[queue] if m < minute - 120]:
                del self._buckets[queue][old]

    def _expire(self, now: datetime) -> None:
        # Called with the lock held. Records are in publish order, so the oldest expire first;
        # fully succeeded ones go sooner, in the order they finished.
        while self._records:
            event_id, record = next(iter(self._records.items()))
            if record.published_at + self._status_ttl > now:
                break
            self._records.popitem(last=False)
            self._done.pop(event_id, None)
        for event_id, at in list(self._done.items()):
            if at + self._succeeded_ttl > now:
                break
            self._done.pop(event_id)
            self._records.pop(event_id, None)


def _dead_by_queue(dead_letters: DeadLetters) -> dict[str, int]:
    count = getattr(dead_letters, "count_by_queue", None)
    if callable(count):
        counts: dict[str, int] = count()
        return counts
    totals: dict[str, int] = defaultdict(int)
    for letter in _all_dead(dead_letters):
        totals[letter.queue] += 1
    return totals


def _all_dead(dead_letters: DeadLetters) -> list[DeadLetter]:
    page = dead_letters.list(offset=0, limit=1_000_000)
    return list(page.items)
