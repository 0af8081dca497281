"""The one Dramatiq actor of hexbus: run one handler for one event, and report to settlement.

``hexbus_deliver(handler_name, envelope)`` goes one way: it opens a
:class:`~.settlement.Delivery` for the message Dramatiq handed it, resolves the handler and
the event, lets the :class:`~.settlement.Settlement` admit it past its rate limit, runs it with
the shared :class:`~hexbus.application.delivery.HandlerRunner` (whose ledger is the delivery),
and reports the result to the settlement, which decides and writes the message's fate (ADR
0006, 0012). It decides nothing about the message itself: whatever goes wrong on the way,
Redis unreachable included, is handed to the settlement too.
"""

from __future__ import annotations

from typing import Any

import attrs
from dramatiq.broker import MessageProxy
from dramatiq.middleware import CurrentMessage

from ...application.delivery import AttemptOutcome, AttemptResult, HandlerRunner
from ...application.processor import DomainEventsProcessor
from ...domain.errors import EventError, HandlerTimeout, UndecryptableEvent, UnknownHandler
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.dead_letters import DeadLetterReason
from ...ports.handlers import HandlerSpec
from .messages import ATTEMPT
from .settlement import Delivery, Settlement
from .timeouts import DeadlineExceeded, Watchdog


class Deliverer:
    """Called by Dramatiq as ``hexbus_deliver(handler_name, envelope)`` in a worker thread."""

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

    def __call__(self, handler_name: str, envelope: dict[str, Any]) -> None:
        proxy: MessageProxy | None = CurrentMessage.get_current_message()  # type: ignore[assignment]
        if proxy is None:  # pragma: no cover - only without the CurrentMessage middleware
            raise RuntimeError("hexbus_deliver needs Dramatiq's CurrentMessage middleware")
        options = proxy.options
        delivery = self._settlement.delivery(
            queue=proxy.queue_name,
            redis_id=options["redis_message_id"],
            attempt=options.get(ATTEMPT, 1),
            handler=handler_name,
            envelope=envelope,
        )
        try:
            self._deliver(handler_name, envelope, delivery)
        except Exception as error:
            # Redis unreachable or refusing a step, workers that died running it, or a bug of
            # ours (the runner keeps the handler's own errors): the settlement decides (put
            # back, or dead letter) rather than let Dramatiq's ack lose it.
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
