"""Hooks into the life of events on a bus: for traces, logs, metrics and status records.

Adapters call an observer at each step; observers must not raise (an adapter shields itself
from one that does) and should be quick, since they run on the delivery path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from ..domain.events import DomainEvent
from .dead_letters import DeadLetter
from .event_bus import PublishResult
from .handlers import HandlerSpec


class BusObserver(Protocol):
    """Told about publishing and about each handler's attempts."""

    def published(self, event: DomainEvent, result: PublishResult) -> None:
        """An event was offered to the bus (accepted, scheduled or duplicate)."""
        ...

    def handler_started(self, event: DomainEvent, handler: HandlerSpec, attempt: int) -> None:
        """A handler is about to run."""
        ...

    def handler_succeeded(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, duration: timedelta
    ) -> None:
        """A handler returned normally; its success is recorded."""
        ...

    def handler_skipped(self, event: DomainEvent, handler: HandlerSpec) -> None:
        """A redelivered event skipped a handler that had already succeeded."""
        ...

    def handler_failed(
        self,
        event: DomainEvent,
        handler: HandlerSpec,
        attempt: int,
        error: BaseException,
        retry_at: datetime | None,
    ) -> None:
        """A handler raised; ``retry_at`` is when it runs again, None when it will not."""
        ...

    def handler_progress(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, percent: float
    ) -> None:
        """A running handler reported its progress (0-100, one decimal) through
        ``hexbus.handler_context()``."""
        ...

    def handler_logged(
        self, event: DomainEvent, handler: HandlerSpec, attempt: int, line: str
    ) -> None:
        """A running handler wrote a log line (one line, bounded) through its context."""
        ...

    def dead_lettered(self, dead_letter: DeadLetter) -> None:
        """A message went to the dead letters."""
        ...

    def cancelled(self, event_id: UUID) -> None:
        """A scheduled event was cancelled before it was due."""
        ...
