"""What the in-memory bus records, and the assertions a test author wants on it.

Mixed into :class:`InMemoryEventBus` so a test reads ``bus.assert_published(InvoiceIssued,
invoice_id="INV-1")``; kept apart so the bus module holds the bus.
"""

from __future__ import annotations

from collections import deque
from typing import Any, TypeVar
from uuid import UUID

import attrs

from ...domain.events import DomainEvent

E = TypeVar("E", bound=DomainEvent)


@attrs.frozen
class HandlerRun:
    """One attempt of one handler, as the in-memory bus recorded it (for assertions)."""

    event_id: UUID
    handler: str
    attempt: int
    outcome: str
    error: str | None = None


class RecordedEvents:
    """Accepted events and handler attempts, capped, with lookups and assertions."""

    _published: deque[DomainEvent]
    _runs: deque[HandlerRun]

    @property
    def published(self) -> tuple[DomainEvent, ...]:
        """Every accepted event (duplicates excluded), in publishing order."""
        return tuple(self._published)

    @property
    def runs(self) -> tuple[HandlerRun, ...]:
        """Every handler attempt, in order."""
        return tuple(self._runs)

    def events_of_type(self, event_class: type[E]) -> list[E]:
        """Accepted events of one class, in order."""
        return [e for e in self._published if type(e) is event_class]

    def event(self, event_id: UUID) -> DomainEvent:
        """The accepted event with this id; KeyError naming what was published otherwise."""
        for candidate in self._published:
            if candidate.event_id == event_id:
                return candidate
        raise KeyError(f"no event {event_id} was published; published: {self._summary()}")

    def count(self, event_class: type[DomainEvent] | None = None) -> int:
        """How many events (of one class) were accepted."""
        if event_class is None:
            return len(self._published)
        return sum(1 for e in self._published if type(e) is event_class)

    def assert_published(self, event_class: type[E], **fields: Any) -> E:
        """The last accepted ``event_class`` event whose fields match; AssertionError if none."""
        for candidate in reversed(self.events_of_type(event_class)):
            if all(getattr(candidate, k) == v for k, v in fields.items()):
                return candidate
        wanted = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        raise AssertionError(
            f"no {event_class.__name__}({wanted}) was published; published: {self._summary()}"
        )

    def assert_not_published(self, event_class: type[DomainEvent]) -> None:
        """AssertionError if any ``event_class`` event was accepted."""
        if self.count(event_class):
            raise AssertionError(f"{event_class.__name__} was published: {self._summary()}")

    def succeeded(self, handler: str) -> list[UUID]:
        """Event ids the named handler succeeded for, in order."""
        return [r.event_id for r in self._runs if r.handler == handler and r.outcome == "ok"]

    def clear(self) -> None:
        """Forget the records (not the idempotency keys, which are the contract)."""
        self._published.clear()
        self._runs.clear()

    def _summary(self) -> str:
        names = [f"{type(e).__name__}({e.event_id})" for e in list(self._published)[-10:]]
        return ", ".join(names) or "nothing"
