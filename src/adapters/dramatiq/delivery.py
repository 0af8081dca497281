"""What hexbus's one actor does: run one handler for one event, and report to settlement.

Every message names the actor ``hexbus_deliver(handler_name, envelope)``; a worker thread of
the :class:`~.worker_pool.WorkerPool` calls :meth:`Deliverer.deliver` with what the fetch read
of it. It goes one way: it opens a
:class:`~.settlement.Delivery` for the message, resolves the handler and
the event, lets the :class:`~.settlement.Settlement` admit it past its rate limit, runs it with
the shared :class:`~hexbus.application.delivery.HandlerRunner` (whose ledger is the delivery),
and reports the result to the settlement, which decides and writes the message's fate (ADR
0006, 0012). It decides nothing about the message itself: whatever goes wrong on the way,
Redis unreachable included, is handed to the settlement too.
"""

from __future__ import annotations

from typing import Any

import attrs

from ...application.delivery import AttemptOutcome, AttemptResult, HandlerRunner
from ...application.processor import DomainEventsProcessor
from ...domain.errors import EventError, HandlerTimeout, UndecryptableEvent, UnknownHandler
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.dead_letters import DeadLetterReason
from ...ports.handlers import HandlerSpec
from .deliveries import Fetched
from .settlement import Delivery, Settlement
from .timeouts import DeadlineExceeded, Watchdog


class Deliverer:
    """Runs ``hexbus_deliver(handler_name, envelope)`` for each message a worker thread took."""

    def __init__(
        self,
        *,
        processor: DomainEventsProcessor,
        serializer: EventSerializer,
        runner: HandlerRunner,
        settlement: Settlement,
        watchdog: Watchdog | None = None,
    ) -> None:
        self._processor = processor
        self._serializer = serializer
        self._runner = runner
        self._settlement = settlement
        self._watchdog = watchdog

    def deliver(self, item: Fetched) -> None:
        """Run ``item``'s handler and settle the message; raises only an interruption that is
        not a handler's timeout (after putting the message back)."""
        handler_name, envelope = item.handler, item.envelope
        delivery = self._settlement.delivery(
            queue=item.queue,
            redis_id=item.redis_id,
            attempt=item.attempt,
            handler=handler_name,
            envelope=envelope,
        )
        try:
            self._deliver(handler_name, envelope, delivery)
        except Exception as error:
            # Redis unreachable or refusing a step, workers that died running it, or a bug of
            # ours (the runner keeps the handler's own errors): the settlement decides (put
            # back, or dead letter) rather than let the message be forgotten.
            self._settlement.put_back(delivery, error, envelope)
        except BaseException as error:
            # An interruption (a timeout landing after the handler, shutdown): same, then on.
            self._settlement.put_back(delivery, error, envelope)
            if not isinstance(error, DeadlineExceeded):
                raise

    def _deliver(self, handler_name: str, envelope: dict[str, Any], delivery: Delivery) -> None:
        settlement = self._settlement
        try:
            spec = self._processor.get(handler_name)
        except UnknownHandler as error:
            settlement.reject(delivery, envelope, error, DeadLetterReason.UNKNOWN_HANDLER)
            return
        try:
            event = self._serializer.from_dict(envelope)
        except EventError as error:
            reason = (
                DeadLetterReason.UNDECRYPTABLE
                if isinstance(error, UndecryptableEvent)
                else DeadLetterReason.UNDECODABLE
            )
            settlement.reject(delivery, envelope, error, reason)
            return
        if spec.rate_limit is not None and not settlement.admit(delivery, event, spec, envelope):
            return
        result = self._attempt(event, spec, delivery)
        settlement.settle(delivery, event, spec, result, envelope)

    def _attempt(self, event: DomainEvent, spec: HandlerSpec, delivery: Delivery) -> AttemptResult:
        if spec.timeout is not None and self._watchdog is not None:
            spec = attrs.evolve(spec, handler=self._watchdog.guard(spec.handler, spec.timeout))
        try:
            return self._runner.run(event, spec, delivery.attempt, delivery)
        except DeadlineExceeded:  # arrived just as the handler returned
            return AttemptResult(AttemptOutcome.FAILED, HandlerTimeout("handler timed out"))
