"""Running one handler for one event, the same way in every adapter.

What differs between adapters is *when* a failed attempt is tried again (inline after a sleep,
or as a message due later). What must not differ is the rest, so it lives here: skip a handler
that already succeeded for this event_id, run it, record the success before anything else can
observe it, time it against its timeout, and describe a final failure as a dead letter.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from uuid import UUID, uuid4

import attrs

from ..domain.errors import HandlerTimeout
from ..domain.events import DomainEvent
from ..ports.clock import Clock
from ..ports.dead_letters import DeadLetter, DeadLetterReason
from ..ports.handlers import HandlerSpec
from ..ports.idempotency import IdempotencyStore
from ..ports.observer import BusObserver


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

    ``enforce_timeout`` is for adapters that cannot interrupt a handler (the in-memory bus
    runs it in the caller's thread): an attempt that overran its timeout by the clock counts as
    failed with :class:`HandlerTimeout` and its success is not recorded, which is what a worker
    that interrupts it would observe too.
    """

    def __init__(
        self,
        ledger: IdempotencyStore,
        observer: BusObserver,
        clock: Clock,
        *,
        success_ttl: timedelta,
        enforce_timeout: bool = False,
    ) -> None:
        self._ledger = ledger
        self._observer = observer
        self._clock = clock
        self._success_ttl = success_ttl
        self._enforce_timeout = enforce_timeout

    def run(
        self,
        event: DomainEvent,
        spec: HandlerSpec,
        attempt: int,
        *,
        record_success: Callable[[timedelta], None] | None = None,
        check_done: Callable[[], bool] | None = None,
    ) -> AttemptResult:
        """One attempt; never raises what the handler raised, returns it instead.

        ``record_success`` and ``check_done`` replace the ledger's write and read for an
        adapter that does them together with something else (the Redis adapter acks the
        message, or marks the handler running, in the same script).
        """
        done = (
            check_done()
            if check_done is not None
            else self._ledger.has_succeeded(event.event_id, spec.name)
        )
        if done:
            self._observer.handler_skipped(event, spec)
            return SKIPPED
        self._observer.handler_started(event, spec, attempt)
        started = self._clock.now()
        try:
            spec.handler(event)
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
        if record_success is None:
            self._ledger.record_success(event.event_id, spec.name, self._success_ttl)
        else:
            record_success(elapsed)
        self._observer.handler_succeeded(event, spec, attempt, elapsed)
        return DONE


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
