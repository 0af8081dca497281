"""Running one handler for one event, the same way in every adapter.

What differs between adapters is *when* a failed attempt is tried again (inline after a sleep,
or as a message due later), and what else is written with the success record (the Redis adapter
acks the message in the same script). What must not differ is the rest, so it lives here: skip a
handler that already succeeded for this event_id, run it, record the success (through the
delivery's :class:`~hexbus.ports.ledger.DeliveryLedger`) before anything else can observe it,
time it against its timeout, and describe a final failure as a dead letter.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import attrs

from ..domain.errors import HandlerRegistrationError, HandlerTimeout
from ..domain.events import DomainEvent
from ..ports.clock import Clock
from ..ports.coroutines import CoroutineRunner
from ..ports.dead_letters import DeadLetter, DeadLetterReason
from ..ports.handlers import HandlerSpec
from ..ports.idempotency import IdempotencyStore
from ..ports.ledger import DeliveryLedger
from ..ports.observer import BusObserver
from .handler_context import running_handler


class AttemptOutcome(Enum):
    """What one attempt came to."""

    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"


@attrs.frozen
class AttemptResult:
    """The outcome of one attempt, with the error when it failed."""

    outcome: AttemptOutcome
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        """True when the handler has nothing left to do for this event."""
        return self.outcome is not AttemptOutcome.FAILED


DONE = AttemptResult(AttemptOutcome.SUCCEEDED)
SKIPPED = AttemptResult(AttemptOutcome.SKIPPED)


class HandlerRunner:
    """Runs a handler once for an event, keeping the effectively-once rule.

    What the run needs of idempotency comes through the :class:`DeliveryLedger` port, one per
    delivery: ``begin()`` says whether the handler already succeeded, ``succeeded(elapsed)``
    records that it has. Each bus hands in its own ledger (the in-memory bus a
    :class:`StoreLedger`, the Redis adapter one that settles the message in the same script),
    so this one runner serves both with nothing replaced or overridden.

    ``enforce_timeout`` is for adapters that cannot interrupt a handler (the in-memory bus
    runs it in the caller's thread): an attempt that overran its timeout by the clock counts as
    failed with :class:`HandlerTimeout` and its success is not recorded, which is what a worker
    that interrupts it would observe too.

    An ``async def`` handler gives a coroutine when called: ``coroutines`` runs it to its end
    (with the handler's timeout, by cancellation) before the attempt is judged, so a
    coroutine handler succeeds, fails, retries and times out exactly as a plain one.
    """

    def __init__(
        self,
        observer: BusObserver,
        clock: Clock,
        *,
        enforce_timeout: bool = False,
        coroutines: CoroutineRunner | None = None,
    ) -> None:
        self._observer = observer
        self._clock = clock
        self._enforce_timeout = enforce_timeout
        self._coroutines = coroutines

    def run(
        self, event: DomainEvent, spec: HandlerSpec, attempt: int, ledger: DeliveryLedger
    ) -> AttemptResult:
        """One attempt; never raises what the handler raised, returns it instead.

        What the ledger raises (its store unreachable) is raised: the attempt did not happen,
        or its success is not known to be recorded, and the caller decides what that means.
        """
        if ledger.begin():
            self._observer.handler_skipped(event, spec)
            return SKIPPED
        self._observer.handler_started(event, spec, attempt)
        started = self._clock.now()
        try:
            # The one place a handler is called: hexbus.handler_context() answers for it (a
            # coroutine handler is awaited inside it, so its task sees the same context).
            with running_handler(event, spec, attempt, self._observer):
                outcome = spec.handler(event)
                if inspect.iscoroutine(outcome):
                    self._await(outcome, spec)
        except Exception as error:
            return AttemptResult(AttemptOutcome.FAILED, error)
        elapsed = self._clock.now() - started
        if self._enforce_timeout and spec.timeout is not None and elapsed > spec.timeout:
            return AttemptResult(
                AttemptOutcome.FAILED,
                HandlerTimeout(
                    f"handler {spec.name} ran {elapsed.total_seconds():.3f}s, over its "
                    f"timeout of {spec.timeout.total_seconds():.3f}s"
                ),
            )
        ledger.succeeded(elapsed)
        self._observer.handler_succeeded(event, spec, attempt, elapsed)
        return DONE

    def _await(self, coroutine: Coroutine[Any, Any, object], spec: HandlerSpec) -> None:
        if self._coroutines is None:
            coroutine.close()  # never awaited: say so here, not in a RuntimeWarning later
            raise HandlerRegistrationError(
                f"handler {spec.name} is async, and this bus was built without a coroutine "
                "runner to await it"
            )
        self._coroutines.run(coroutine, spec.timeout)


class StoreLedger:
    """The :class:`DeliveryLedger` of one (event, handler) over an :class:`IdempotencyStore`.

    What the in-memory bus hands the runner: a read before, a write after, nothing else to do
    in the same step. The success is kept for ``ttl`` (the idempotency retention).
    """

    __slots__ = ("_event_id", "_handler", "_store", "_ttl")

    def __init__(self, store: IdempotencyStore, event_id: UUID, handler: str, ttl: timedelta):
        self._store = store
        self._event_id = event_id
        self._handler = handler
        self._ttl = ttl

    def begin(self) -> bool:
        """Whether the store already has the success."""
        return self._store.has_succeeded(self._event_id, self._handler)

    def succeeded(self, elapsed: timedelta) -> None:
        """Record the success in the store."""
        self._store.record_success(self._event_id, self._handler, self._ttl)


def dead_letter_for(
    *,
    spec: HandlerSpec,
    event_id: UUID,
    event_type: str,
    message: str,
    error: BaseException,
    attempts: int,
    failed_at: datetime,
    new_id: Callable[[], str] = lambda: uuid4().hex,
) -> DeadLetter:
    """The dead letter for a handler that will not be retried."""
    reason = (
        DeadLetterReason.NON_RETRYABLE
        if not spec.retry.is_retryable(error)
        else DeadLetterReason.RETRIES_EXHAUSTED
    )
    return DeadLetter(
        id=new_id(),
        reason=reason,
        queue=spec.queue,
        handler=spec.name,
        event_id=event_id,
        event_type=event_type,
        message=message,
        error_type=f"{type(error).__module__}.{type(error).__qualname__}",
        error=str(error) or type(error).__name__,
        traceback="".join(traceback.format_exception(error)),
        attempts=attempts,
        failed_at=failed_at,
    )
