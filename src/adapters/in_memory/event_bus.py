"""The in-memory event bus: synchronous, no infrastructure, the default and the test double.

It keeps the same contract as the Dramatiq/Redis adapter (the contract suite runs unchanged
against both), with these differences of mechanism only:

* a handler's first attempt runs in the publisher's thread before ``publish`` returns; an
  event published by a handler is queued and dispatched after the current one (breadth-first,
  like a queue);
* retries: on a :class:`VirtualClock` they run inline too, backing off on the clock
  (tenacity, with the clock's ``sleep``), so hours of backoff take no time and every retry is
  over when ``publish`` returns: the synchronous test double. On any other clock a retry waits
  on the bus's timer thread (the one that fires delayed events) and runs there when due, so
  ``publish`` never sleeps through a backoff and a flaky handler never delays the handlers
  after it;
* scheduled events wait in a heap ordered by due time and fire on :meth:`advance` (virtual
  time) or :meth:`run_due`;
* a timeout cannot interrupt a handler running in the caller's thread, so an attempt that
  overran its timeout counts as failed and its success is not recorded;
* an ``async def`` handler runs on the publisher's event loop (or a process-wide loop thread
  from synchronous code) while the dispatching thread waits for it, serving the calls it makes
  back into the bus (:mod:`.coroutines`, ADR 0023);
* its routes are its processor (ADR 0015): an event no handler is registered for is counted
  (:meth:`unrouted_stats`) and, unless the policy says count only, kept for the retention; the
  bus listens to the processor's registrations, and each handler registered for the type gets
  each kept event once, at the next :meth:`run_due` or :meth:`advance` (at once on a real
  clock), as the routes a worker declares on Redis do.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

import tenacity

from ...application.delivery import AttemptResult, HandlerRunner, StoreLedger, dead_letter_for
from ...application.due_time import due_time
from ...application.observers import ObserverGroup
from ...application.processor import DomainEventsProcessor
from ...application.unrouted import UnroutedPolicy
from ...domain.errors import DeadLetterNotRetryable
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.coroutines import CoroutineRunner
from ...ports.dead_letters import DeadLetter
from ...ports.event_bus import PublishOutcome, PublishResult
from ...ports.handlers import HandlerSpec
from ...ports.idempotency import IdempotencyStore
from ...ports.monitoring import UnroutedStats
from ...ports.observer import BusObserver
from ...ports.schedules import TimerSource
from ..clocks import SystemClock, VirtualClock
from .coroutines import InMemoryCoroutines, handed_back
from .dead_letters import InMemoryDeadLetters
from .idempotency import InMemoryIdempotencyStore
from .rate_limits import SlidingWindows
from .recorded import HandlerRun, RecordedEvents
from .timeline import Due, Timeline

E = TypeVar("E", bound=DomainEvent)
log = logging.getLogger("hexbus.in_memory")

DEFAULT_RETENTION = timedelta(days=7)


class _Failed(Exception):
    """Carries a handler's error through tenacity without wrapping it twice."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class InMemoryEventBus(RecordedEvents):
    """An :class:`EventBus` and :class:`EventScheduler` that dispatches in the caller's thread.

    ``raise_errors=True`` re-raises a handler's final error to whoever is dispatching, after it
    has been dead-lettered and every other handler has had its turn: useful in a unit test that
    wants a failing handler to fail the test. On a :class:`VirtualClock` that is always the
    publisher (or the caller of :meth:`advance`/:meth:`run_due`), since retries run inline. On
    any other clock ``publish`` raises only what gives up on the first attempt (a
    non-retryable error, a handler without retries); a handler that gives up later, on the
    timer thread, cannot raise to a publisher that has long returned: it is dead-lettered and
    logged at ERROR on ``hexbus.in_memory``. Records of what was published and run are capped
    at ``record_limit`` entries each.
    """

    def __init__(
        self,
        processor: DomainEventsProcessor,
        *,
        clock: Clock | None = None,
        idempotency: IdempotencyStore | None = None,
        observers: Iterable[BusObserver] = (),
        serializer: EventSerializer | None = None,
        retention: timedelta = DEFAULT_RETENTION,
        dead_letter_retention: timedelta = DEFAULT_RETENTION,
        raise_errors: bool = False,
        random_fraction: Callable[[], float] = random.random,
        record_limit: int = 10_000,
        unrouted: UnroutedPolicy | None = None,
        coroutines: CoroutineRunner | None = None,
    ) -> None:
        self.processor = processor
        self.clock: Clock = clock or SystemClock()
        self.idempotency: IdempotencyStore = idempotency or InMemoryIdempotencyStore(self.clock)
        self.observer = ObserverGroup(observers)
        self.serializer = serializer or EventSerializer(processor.registry)
        self.retention = retention
        self.raise_errors = raise_errors
        self._random = random_fraction
        self.dead_letters = InMemoryDeadLetters(
            self.clock, self._redeliver_dead_letter, retention=dead_letter_retention
        )
        self.coroutines = coroutines or InMemoryCoroutines()
        self._runner = HandlerRunner(
            self.observer, self.clock, enforce_timeout=True, coroutines=self.coroutines
        )
        self._lock = threading.RLock()
        # (event, only these handlers or all, which attempt it is for them)
        self._queue: deque[tuple[DomainEvent, tuple[HandlerSpec, ...] | None, int]] = deque()
        self._dispatching = False
        self._raised: list[BaseException] = []
        self._timeline = Timeline()
        self._paused: set[str] = set()
        self._held_by_pause: dict[str, list[tuple[DomainEvent, HandlerSpec, int]]] = {}
        self._windows = SlidingWindows()
        self._ticker: threading.Thread | None = None
        self._wake = threading.Event()
        self._timers: list[TimerSource] = []
        self._published: deque[DomainEvent] = deque(maxlen=record_limit)
        self._runs: deque[HandlerRun] = deque(maxlen=record_limit)
        self.unrouted = unrouted or UnroutedPolicy()
        self._unrouted_counts: dict[str, int] = {}
        # Per type: (sequence number, kept at, event), oldest first; and per type and handler,
        # the sequence number of the last kept event it was given.
        self._kept: dict[str, deque[tuple[int, datetime, DomainEvent]]] = {}
        self._kept_ids: set[UUID] = set()
        self._given: dict[str, dict[str, int]] = {}
        self._released: deque[tuple[DomainEvent, HandlerSpec]] = deque()
        processor.on_register(self._registered)

    # --- the EventBus port -----------------------------------------------------------------

    def publish(
        self,
        event: DomainEvent,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> PublishResult:
        """Dispatch ``event`` to its handlers now, or hold it until ``delay``/``at``."""
        if (dispatcher := handed_back()) is not None:  # from a coroutine handler: see .coroutines
            return dispatcher.call(lambda: self.publish(event, delay=delay, at=at))
        if not isinstance(event, DomainEvent):
            raise TypeError(f"publish takes a DomainEvent, got {type(event).__name__}")
        due_at = self._due_at(delay, at)
        with self._lock:
            # A delayed event stays a duplicate until its retention has passed after it is due.
            wait = max(due_at - self.clock.now(), timedelta(0)) if due_at else timedelta(0)
            if not self.idempotency.claim(str(event.event_id), self.retention + wait):
                result = PublishResult(event.event_id, PublishOutcome.DUPLICATE)
                if self.observer:
                    self.observer.published(event, result)
                return result
            self._published.append(event)
            unrouted = not self.processor.handlers_for(event.event_type)
            if unrouted:
                counts = self._unrouted_counts
                counts[event.event_type] = counts.get(event.event_type, 0) + 1
            if due_at is not None and due_at > self.clock.now():
                # Routed now, as on Redis: the handlers registered when it is published.
                self._hold(event, due_at, self.processor.handlers_for(event.event_type) or None)
                result = PublishResult(
                    event.event_id, PublishOutcome.SCHEDULED, due_at, unrouted=unrouted
                )
            else:
                result = PublishResult(event.event_id, PublishOutcome.ACCEPTED, unrouted=unrouted)
            if self.observer:
                self.observer.published(event, result)
            if result.outcome is PublishOutcome.ACCEPTED:
                self._queue.append((event, None, 1))
                self._drain()
            return result

    def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish each event in order; later copies of an event_id are duplicates."""
        return [self.publish(event) for event in events]

    # --- the EventScheduler port -----------------------------------------------------------

    def cancel(self, event_id: UUID) -> bool:
        """Cancel a scheduled event; False when it is not pending."""
        if (dispatcher := handed_back()) is not None:
            return dispatcher.call(lambda: self.cancel(event_id))
        with self._lock:
            if self._timeline.cancel(event_id) is None:
                return False
        if self.observer:
            self.observer.cancelled(event_id)
        return True

    def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """Move a pending event to a new due time; False when it is not pending."""
        if (dispatcher := handed_back()) is not None:
            return dispatcher.call(lambda: self.reschedule(event_id, delay=delay, at=at))
        due_at = self._due_at(delay, at)
        if due_at is None:
            raise ValueError("reschedule needs delay= or at=")
        with self._lock:
            held = self._timeline.cancel(event_id)
            if held is None:
                return False
            self._hold(held.event, due_at, held.routes)
            return True

    # --- the QueueControl port --------------------------------------------------------------

    def pause(self, queue: str) -> None:
        """Hold every delivery to ``queue``'s handlers until :meth:`resume`."""
        with self._lock:
            self._paused.add(queue)

    def resume(self, queue: str) -> None:
        """Deliver what was held, in order, and stop holding."""
        with self._lock:
            self._paused.discard(queue)
            for event, spec, attempt in self._held_by_pause.pop(queue, []):
                self._queue.append((event, (spec,), attempt))
            self._drain()

    def paused(self) -> frozenset[str]:
        """The paused queues."""
        with self._lock:
            return frozenset(self._paused)

    # --- time ------------------------------------------------------------------------------

    def add_timer(self, timer: TimerSource) -> None:
        """Let :meth:`advance` and :meth:`run_due` drive ``timer`` (a recurring scheduler)."""
        self._timers.append(timer)

    def advance(self, delta: timedelta) -> int:
        """Move a :class:`VirtualClock` forward, firing due events in order of due time.

        Each event fires with the clock set to its due time, so its handlers see the time they
        would have seen in production. Returns how many scheduled events fired.
        """
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("advance() needs the bus to run on a VirtualClock")
        target = clock.now() + delta
        fired = self._dispatch_released()
        while True:
            with self._lock:
                timer, timer_due = self._next_timer()
                event_due = self._timeline.next_time()
                if (
                    timer is not None
                    and timer_due is not None
                    and timer_due <= target
                    and (event_due is None or timer_due < event_due)
                ):
                    clock.set(max(timer_due, clock.now()))
                    fired += timer.run_due(clock.now())
                    continue
                due = self._timeline.pop_due(target)
                if due is None:
                    break
                clock.set(max(due.due_at, clock.now()))
                fired += self._fire(due)
        if target > clock.now():
            clock.set(target)
        return fired

    def run_due(self) -> int:
        """Fire every scheduled event already due by the clock, and hand kept unrouted events
        to the handlers registered for their type since; returns how many."""
        fired = self._dispatch_released()
        fired += sum(timer.run_due(self.clock.now()) for timer in self._timers)
        while True:
            with self._lock:
                due = self._timeline.pop_due(self.clock.now())
                if due is None:
                    return fired
                fired += self._fire(due)

    @property
    def scheduled(self) -> tuple[tuple[datetime, DomainEvent], ...]:
        """Pending scheduled events as (due time, event), soonest first."""
        with self._lock:
            items = self._timeline.scheduled_events()
        return tuple((d.due_at, d.event) for d in items)

    # --- redelivery ------------------------------------------------------------------------

    def redeliver(self, event: DomainEvent) -> None:
        """Deliver an event again, as an at-least-once broker may (contract tests use this).

        To its type's handlers now; one with none is not counted or kept again."""
        if (dispatcher := handed_back()) is not None:
            dispatcher.call(lambda: self.redeliver(event))
            return
        with self._lock:
            self._queue.append((event, self.processor.handlers_for(event.event_type), 1))
            self._drain()

    # --- unrouted events (ADR 0015) -----------------------------------------------------------

    def unrouted_stats(self) -> list[UnroutedStats]:
        """Per event type: events accepted with no handler, and those still kept (for any
        handler registered later, within the retention)."""
        with self._lock:
            self._expire_kept()
            return [
                UnroutedStats(
                    event_type=event_type,
                    count=count,
                    kept=len(self._kept.get(event_type, ())),
                )
                for event_type, count in sorted(self._unrouted_counts.items())
            ]

    def _keep(self, event: DomainEvent) -> None:
        """Hold an event no handler took, for those that register later (called locked)."""
        if not self.unrouted.keep or event.event_id in self._kept_ids:
            return
        self._expire_kept()
        kept = self._kept.get(event.event_type)
        if kept is None:  # nothing kept: the sequence starts again, and so do the cursors
            kept = self._kept[event.event_type] = deque()
            self._given.pop(event.event_type, None)
        sequence = kept[-1][0] + 1 if kept else 1
        kept.append((sequence, self.clock.now(), event))
        self._kept_ids.add(event.event_id)

    def _expire_kept(self) -> None:
        horizon = self.clock.now() - self.unrouted.retention
        for event_type, kept in list(self._kept.items()):
            while kept and kept[0][1] < horizon:
                self._kept_ids.discard(kept.popleft()[2].event_id)
            if not kept:
                del self._kept[event_type]
                self._given.pop(event_type, None)

    def _registered(self, spec: HandlerSpec) -> None:
        """The processor registered a handler: the kept events of its type it was not given
        yet are released to it, dispatched at the next step of time."""
        with self._lock:
            self._expire_kept()
            kept = self._kept.get(spec.event_type)
            if not kept:
                return
            given = self._given.setdefault(spec.event_type, {})
            cursor = given.get(spec.name, 0)
            fresh = [(sequence, event) for sequence, _, event in kept if sequence > cursor]
            if not fresh:
                return
            given[spec.name] = fresh[-1][0]
            self._released.extend((event, spec) for _, event in fresh)
        self._tick_later()

    def _dispatch_released(self) -> int:
        with self._lock:
            released = len(self._released)
            while self._released:
                event, spec = self._released.popleft()
                self._queue.append((event, (spec,), 1))
            if released:
                self._drain()
            return released

    # --- dispatching -----------------------------------------------------------------------

    def _drain(self) -> None:
        # Called with the lock held. A handler that publishes re-enters publish(): its event
        # is queued and handled after the current one, not in the middle of it.
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue:
                event, only, attempt = self._queue.popleft()
                specs = only if only is not None else self.processor.handlers_for(event.event_type)
                if only is None and not specs:
                    self._keep(event)
                for spec in specs:
                    self._deliver(event, spec, attempt)
        finally:
            self._dispatching = False
            self._queue.clear()
        if self._raised:
            error, self._raised = self._raised[0], []
            raise error

    def _deliver(self, event: DomainEvent, spec: HandlerSpec, attempt: int = 1) -> None:
        if spec.queue in self._paused:
            self._held_by_pause.setdefault(spec.queue, []).append((event, spec, attempt))
            return
        limit = spec.rate_limit
        if limit is not None:
            frees_at = self._windows.take(
                limit.bucket_for(event), limit.limit, limit.period, self.clock.now()
            )
            if frees_at is not None:  # waiting for a slot is not an attempt
                self._timeline.hold(event, frees_at, only=(spec,), attempt=attempt)
                self._tick_later()
                return
        result = self._runner.run(event, spec, attempt, self._ledger(event, spec))
        self._record(event, spec, attempt, result)
        if result.done:
            return
        assert result.error is not None
        if self._virtual_time:
            self._retry(event, spec, result.error)
        else:
            self._retry_later(event, spec, attempt, result.error)

    def _retry_later(
        self, event: DomainEvent, spec: HandlerSpec, attempt: int, error: BaseException
    ) -> None:
        """On a real clock: hold the next attempt on the timeline, for the timer thread to run
        when its backoff is over (nothing waits here), or dead-letter the event."""
        policy = spec.retry
        if policy.is_retryable(error) and attempt < policy.max_attempts:
            due_at = self.clock.now() + policy.backoff(attempt, self._random())
            self.observer.handler_failed(event, spec, attempt, error, due_at)
            self._timeline.hold(event, due_at, only=(spec,), attempt=attempt + 1)
            self._tick_later()
            return
        self._dead_letter(event, spec, error, attempt)

    def _retry(self, event: DomainEvent, spec: HandlerSpec, first_error: BaseException) -> None:
        """On a virtual clock: attempts 2..n inline, with backoff on the clock, then the dead
        letters."""
        policy = spec.retry
        attempt = 1
        error = first_error

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, _Failed) and policy.is_retryable(exc.error)

        def wait(state: tenacity.RetryCallState) -> float:
            return policy.backoff(state.attempt_number, self._random()).total_seconds()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            pause = state.next_action.sleep if state.next_action else 0.0
            self.observer.handler_failed(
                event, spec, attempt, error, self.clock.now() + timedelta(seconds=pause)
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.max_attempts),
            wait=wait,
            retry=tenacity.retry_if_exception(retryable),
            sleep=self.clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        first = True
        try:
            for try_ in retrying:
                with try_:
                    if first:  # attempt 1 already ran on the fast path; replay its failure
                        first = False
                        raise _Failed(first_error)
                    attempt = try_.retry_state.attempt_number
                    result = self._runner.run(event, spec, attempt, self._ledger(event, spec))
                    self._record(event, spec, attempt, result)
                    if result.error is not None:
                        error = result.error
                        raise _Failed(result.error)
        except _Failed as failed:
            self._dead_letter(event, spec, failed.error, attempt)

    def _dead_letter(
        self, event: DomainEvent, spec: HandlerSpec, error: BaseException, attempts: int
    ) -> None:
        self.observer.handler_failed(event, spec, attempts, error, None)
        dead_letter = dead_letter_for(
            spec=spec,
            event_id=event.event_id,
            event_type=event.event_type,
            message=self.serializer.dumps(event),
            error=error,
            attempts=attempts,
            failed_at=self.clock.now(),
        )
        self.dead_letters.add(dead_letter)
        self.observer.dead_lettered(dead_letter)
        if not self.raise_errors:
            return
        if threading.current_thread() is self._ticker:
            # No publisher is waiting on the timer thread: say it, rather than raise it there.
            log.error(
                "handler %s gave up on %s %s after %d attempt(s): dead-lettered (raise_errors "
                "cannot raise it: it failed on the bus's timer thread, after publish returned)",
                spec.name,
                event.event_type,
                event.event_id,
                attempts,
                exc_info=error,
            )
            return
        self._raised.append(error)  # raised to the publisher once every handler has had its turn

    def _redeliver_dead_letter(self, dead_letter: DeadLetter) -> None:
        if dead_letter.handler is None:
            raise DeadLetterNotRetryable(f"dead letter {dead_letter.id} names no handler")
        spec = self.processor.get(dead_letter.handler)
        event = self.serializer.loads(dead_letter.message)
        with self._lock:
            self._queue.append((event, (spec,), 1))
            self._drain()

    def _ledger(self, event: DomainEvent, spec: HandlerSpec) -> StoreLedger:
        """The success ledger of this delivery: the bus's idempotency store, nothing more."""
        return StoreLedger(self.idempotency, event.event_id, spec.name, self.retention)

    def _record(
        self, event: DomainEvent, spec: HandlerSpec, attempt: int, result: AttemptResult
    ) -> None:
        outcome = {"succeeded": "ok", "skipped": "skipped", "failed": "failed"}[
            result.outcome.value
        ]
        error = None if result.error is None else f"{type(result.error).__name__}: {result.error}"
        self._runs.append(HandlerRun(event.event_id, spec.name, attempt, outcome, error))

    # --- scheduling internals --------------------------------------------------------------

    def _due_at(self, delay: timedelta | None, at: datetime | None) -> datetime | None:
        return due_time(self.clock.now(), delay, at)

    def _hold(
        self, event: DomainEvent, due_at: datetime, routes: tuple[HandlerSpec, ...] | None
    ) -> None:
        self._timeline.hold(event, due_at, routes=routes)
        self._tick_later()

    def _fire(self, due: Due) -> int:
        self._queue.append(
            (due.event, due.only if due.only is not None else due.routes, due.attempt)
        )
        self._drain()
        return 1

    @property
    def _virtual_time(self) -> bool:
        return isinstance(self.clock, VirtualClock)

    def _tick_later(self) -> None:
        """On a real clock, fire held things when due (a virtual clock waits for advance())."""
        if self._virtual_time:
            return
        self._wake.set()
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="hexbus-timeline", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while True:
            with self._lock:
                next_time = self._timeline.next_time()
                released = bool(self._released)
            wait = 1.0 if next_time is None else (next_time - self.clock.now()).total_seconds()
            if released:
                wait = 0.0
            if wait > 0:
                self._wake.wait(timeout=min(wait, 1.0))
                self._wake.clear()
                continue
            try:
                self.run_due()
            except Exception:
                log.exception("firing due events failed; trying again in a second")
                self._wake.wait(timeout=1.0)

    def _next_timer(self) -> tuple[TimerSource | None, datetime | None]:
        best: tuple[TimerSource | None, datetime | None] = (None, None)
        for timer in self._timers:
            due = timer.next_due()
            if due is not None and (best[1] is None or due < best[1]):
                best = (timer, due)
        return best
