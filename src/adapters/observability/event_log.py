"""A log line for every step of every event: what operators grep when something went wrong.

Each line carries the same searchable fields (queue, event_type, event_id, handler, attempt,
max_attempts, duration_ms, error_type), so "everything that happened to event X" or "every
retry of handler Y" is one filter in the log collector.

Event *contents* are never logged unless ``log_payloads`` is on (``HEXBUS_LOG_PAYLOADS``): events
may carry people's names and health data, and logs are copied to more places, and kept
longer, than the data they describe. Error messages are left out for the same reason
(a validation error may quote the value it rejected); the error's type is logged, and the full
message and traceback stay in the dead-letter record, behind the dashboard's access control.

An event accepted while no handler subscribes to its type gets one warning per type per
``unrouted_period`` (``HEXBUS_ALERT_PERIOD``), saying how many came since the last one: a
forgotten ``--app`` shows in the log at once, without a line for every event (ADR 0015).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ...application.observers import NullObserver
from ...domain.events import DomainEvent
from ...domain.serialization import EventSerializer
from ...ports.clock import Clock
from ...ports.dead_letters import DeadLetter
from ...ports.event_bus import PublishOutcome, PublishResult
from ...ports.handlers import HandlerSpec
from ..clocks import SystemClock
from .alert_gate import AlertGate
from .logging_config import stdlib_bound_logger

LOGGER_NAME = "hexbus.events"
# The standard library's advice for a library logger: with no logging configured, a line per
# step must not land on stderr through the last-resort handler (in the middle of a CLI's
# output). Once the application configures logging, the lines propagate to its handlers.
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

_PUBLISHED = {
    PublishOutcome.ACCEPTED: "event accepted",
    PublishOutcome.SCHEDULED: "event scheduled",
    PublishOutcome.DUPLICATE: "duplicate event ignored",
}


def _error_type(error: BaseException) -> str:
    # Spelled as dead letters spell it, so one search finds both kinds of line.
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


class LoggingObserver(NullObserver):
    """Logs publishing and every handler attempt through structlog (see the module docstring)."""

    def __init__(
        self,
        *,
        serializer: EventSerializer | None = None,
        log_payloads: bool = False,
        logger_name: str = LOGGER_NAME,
        clock: Clock | None = None,
        unrouted_period: timedelta = timedelta(minutes=5),
    ) -> None:
        self._serializer = serializer or EventSerializer()
        self._log_payloads = log_payloads
        self._clock = clock or SystemClock()
        self._unrouted = AlertGate(unrouted_period)
        self._stdlib = logging.getLogger(logger_name)
        self._log = stdlib_bound_logger(logger_name)

    # --- the hooks -------------------------------------------------------------------------

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        """One line per event offered to the bus, saying what became of it."""
        fields = self._event_fields(event)
        if result.due_at is not None:
            fields["due_at"] = result.due_at.isoformat()
        self._emit(logging.INFO, _PUBLISHED[result.outcome], fields, event)
        if result.unrouted:
            self._unrouted_event(event)

    def _unrouted_event(self, event: DomainEvent) -> None:
        """At most one warning per type per period, counting the events it stands for."""
        count = self._unrouted.admit(event.event_type, self._clock.now())
        if count is None:
            return
        self._emit(
            logging.WARNING,
            "event accepted with no handler subscribed to its type: counted as unrouted "
            "(hexbus stats); is a worker with its handlers running (--app)?",
            {"event_type": event.event_type, "unrouted_since_last_line": count},
            None,
        )

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """The attempt begins; with the success or failure line it brackets the handler's run."""
        self._emit(
            logging.INFO, "handler started", self._run_fields(event, handler, attempt), event
        )

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """The handler returned; its duration in milliseconds."""
        fields = self._run_fields(event, handler, attempt)
        fields["duration_ms"] = round(duration.total_seconds() * 1000, 3)
        self._emit(logging.INFO, "handler succeeded", fields, event)

    def handler_skipped(self, event: DomainEvent, handler: HandlerSpec) -> None:
        """A redelivery found the handler already done (debug: this is the system working)."""
        self._emit(
            logging.DEBUG,
            "handler skipped, already succeeded",
            self._event_fields(event, handler),
            event,
        )

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """A retry scheduled (warning) or the last attempt failed (error)."""
        fields = self._run_fields(event, handler, attempt)
        fields["error_type"] = _error_type(error)
        if self._log_payloads:
            fields["error"] = str(error)[:500]
        if retry_at is None:
            self._emit(logging.ERROR, "handler failed, no retry left", fields, event)
            return
        fields["retry_at"] = retry_at.isoformat()
        fields["next_attempt"] = attempt + 1
        message = (
            f"handler failed, retry scheduled: attempt {attempt + 1}/{handler.retry.max_attempts}"
        )
        self._emit(logging.WARNING, message, fields, event)

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        """A message went to the dead letters; the line says where to find it, not what it held."""
        fields: dict[str, Any] = {
            "dead_letter_id": dead_letter.id,
            "reason": dead_letter.reason.value,
            "queue": dead_letter.queue,
            "handler": dead_letter.handler,
            "event_type": dead_letter.event_type,
            "event_id": str(dead_letter.event_id) if dead_letter.event_id else None,
            "attempts": dead_letter.attempts,
            "error_type": dead_letter.error_type,
        }
        if self._log_payloads:
            fields["error"] = dead_letter.error[:500]
            fields["payload"] = dead_letter.message
        self._emit(logging.ERROR, "event dead-lettered", fields, None)

    def cancelled(self, event_id: UUID) -> None:
        """A scheduled event will not be delivered."""
        self._emit(logging.INFO, "scheduled event cancelled", {"event_id": str(event_id)}, None)

    # --- the line --------------------------------------------------------------------------

    def _emit(
        self, level: int, message: str, fields: dict[str, Any], event: DomainEvent | None
    ) -> None:
        # Checked first so that a disabled level costs no dictionary building or serializing
        # on the delivery path.
        if not self._stdlib.isEnabledFor(level):
            return
        if self._log_payloads and event is not None:
            fields["payload"] = self._payload(event)
        self._log.log(level, message, **fields)

    def _payload(self, event: DomainEvent) -> Any:
        try:
            return self._serializer.to_dict(event)
        except Exception as error:  # an unregistered type must not lose the log line
            return f"<not serializable: {type(error).__name__}>"

    @staticmethod
    def _event_fields(event: DomainEvent, handler: HandlerSpec | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {"event_type": event.event_type, "event_id": str(event.event_id)}
        if handler is not None:
            fields["queue"] = handler.queue
            fields["handler"] = handler.name
        if event.correlation_id is not None:
            fields["correlation_id"] = str(event.correlation_id)
        return fields

    def _run_fields(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> dict[str, Any]:
        fields = self._event_fields(event, handler)
        fields["attempt"] = attempt
        fields["max_attempts"] = handler.retry.max_attempts
        return fields
