"""The unit of work: the state a use case changes and the events it publishes commit together.

A use case runs inside one::

    with uow:
        appointments.add(appointment)      # a repository of the same store joins the transaction
        uow.publish(AppointmentCreated(...))

Leaving the block normally commits; leaving it by an exception rolls back and publishes
nothing. Events published inside reach the :class:`EventBus` only after the commit: on
PostgreSQL they are written to an outbox table in the same transaction and a relay publishes
them (``hexbus outbox relay``); in memory they are handed to the bus right after the commit.
Either way an event never announces a change that was rolled back, and on PostgreSQL a crash
after the commit loses no event (ADR 0020).

The inbox is the other end: a handler whose effects live in the same database runs inside a
unit of work that also records (event_id, handler name), so its effects and its success are
one commit and a redelivery finds the record and skips the handler (ADR 0021).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Protocol, Self
from uuid import UUID

import attrs

from ..domain.events import DomainEvent

NOT_OPEN: Final = (
    "publish inside `with unit_of_work:`; outside one the event belongs to no transaction"
)
SPOILED: Final = (
    "an inner `with unit_of_work:` block raised, so the whole transaction was rolled back"
)


class EventPublisher(Protocol):
    """What publishes one event, now or later: an :class:`EventBus` or an open unit of work.

    Code that only publishes (a helper that sets an appointment's timers) takes this, so the
    same code runs inside a unit of work or straight on a bus.
    """

    def publish(
        self, event: DomainEvent, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> object:
        """Publish ``event`` (give ``delay`` or ``at`` for later, not both)."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the application's state and its outgoing events.

    Guarantees (``hexbus.testing.UnitOfWorkContract`` checks each one, against every adapter):

    * events published inside the block reach the bus after the commit, never before, each
      with its delay or due time;
    * an exception leaving the block rolls the transaction back and publishes nothing; the
      exception propagates;
    * a ``with`` inside an open one (in the same thread) joins it: only the outermost block
      commits, and an exception leaving an inner block spoils the whole transaction (the outer
      block then rolls back, raising :class:`~hexbus.UnitOfWorkError` if nothing else is
      raised);
    * publishing outside a block raises :class:`~hexbus.UnitOfWorkError`;
    * each thread has its own transaction, so one object serves a whole process.

    A store that can fail raises :class:`~hexbus.StoreUnavailable` when it cannot begin or
    commit; then nothing was published.
    """

    def __enter__(self) -> Self:
        """Begin a transaction in this thread, or join the one already open."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Commit (outermost block, no exception) or roll back."""
        ...

    def publish(
        self, event: DomainEvent, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> None:
        """Add ``event`` to the transaction's outgoing events (give ``delay`` or ``at``, not
        both); it is published once the transaction commits."""
        ...

    def publish_all(self, events: Iterable[DomainEvent]) -> None:
        """Add several events, in order, to the transaction's outgoing events."""
        ...


class Inbox(Protocol):
    """Which handlers have run for which events, recorded in the handlers' own transaction.

    Only meaningful inside an open :class:`UnitOfWork` of the same store: the record commits
    or rolls back with the handler's effects.
    """

    def claim(self, event_id: UUID, handler: str) -> bool:
        """Record that ``handler`` runs for ``event_id`` in the open transaction; False when a
        committed transaction already did (the handler must then do nothing)."""
        ...


@attrs.frozen(kw_only=True)
class OutboxStats:
    """The outbox's backlog: what a relay has not published yet."""

    rows: int
    """Events committed and waiting for a relay."""
    retrying: int
    """Of those, how many a relay failed to publish at least once (waiting for a retry)."""
    oldest_age: timedelta | None
    """How long the oldest waiting row has waited; None when the outbox is empty."""
    max_attempts: int
    """The most failed publish attempts of any waiting row."""
    last_error: str | None
    """The latest failure of a waiting row (redacted), or None."""


class OutboxMonitor(Protocol):
    """Reads the outbox's backlog, for ``hexbus outbox stats``, the API, metrics and alerts."""

    def stats(self) -> OutboxStats:
        """The backlog now."""
        ...
