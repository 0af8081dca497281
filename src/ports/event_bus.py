"""The port use-case code publishes through.

Use cases depend on :class:`EventBus` only; whether events are dispatched in the caller's
thread or stored in Redis for workers is the composition root's choice (ADR 0004).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol
from uuid import UUID

import attrs

from ..domain.events import DomainEvent


class PublishOutcome(Enum):
    """What publishing did with one event."""

    ACCEPTED = "accepted"
    """New: it will be delivered to every handler of its type."""
    SCHEDULED = "scheduled"
    """New, and held until its due time."""
    DUPLICATE = "duplicate"
    """Its event_id was already accepted within the retention: nothing new is delivered."""


@attrs.frozen
class PublishResult:
    """The outcome of publishing one event."""

    event_id: UUID
    outcome: PublishOutcome
    due_at: datetime | None = None
    unrouted: bool = False
    """Accepted while no handler subscribed to its type: counted, and kept for a handler that
    subscribes later unless ``HEXBUS_UNROUTED=count`` (ADR 0015). An event type nobody
    subscribes to is legal, as in any pub/sub; this only makes it visible."""

    @property
    def accepted(self) -> bool:
        """True when the event was new (delivered now or scheduled)."""
        return self.outcome is not PublishOutcome.DUPLICATE

    @property
    def duplicate(self) -> bool:
        """True when the event_id had already been accepted."""
        return self.outcome is PublishOutcome.DUPLICATE


class EventBus(Protocol):
    """Publishes domain events to every handler registered for their type.

    Guarantees (the contract suite in :mod:`hexbus.testing` checks each one):

    * every accepted event reaches every handler of its type at least once, and a handler that
      succeeded for an event_id is never run again for it;
    * the event_id deduplicates: publishing it again reports ``DUPLICATE`` and delivers nothing;
    * the publisher never sees a handler's error; a crash mid-publish loses nothing;
    * ``delay`` (or ``at``) holds the event until then.
    """

    def publish(
        self,
        event: DomainEvent,
        *,
        delay: timedelta | None = None,
        at: datetime | None = None,
    ) -> PublishResult:
        """Publish one event, now or at a later time (give ``delay`` or ``at``, not both).

        An adapter with infrastructure raises :class:`~hexbus.EventBusUnavailable`
        when it could not be reached or did not answer in time: the event may or may not have
        been accepted, and publishing it again is safe (the event_id deduplicates). It raises
        :class:`~hexbus.EventBusRejected` when it answered with a refusal that
        trying again cannot change (a data error): the event was not accepted; do not retry.
        """
        ...

    def publish_all(self, events: Iterable[DomainEvent]) -> Sequence[PublishResult]:
        """Publish several events in one go, reporting each in order.

        A batch repeating an event_id reports the later copies as duplicates.
        """
        ...


class EventScheduler(Protocol):
    """Moves or cancels events published with a delay, until they are delivered."""

    def cancel(self, event_id: UUID) -> bool:
        """Cancel a scheduled event; False when it was not pending (delivered, unknown, or
        already cancelled), in which case nothing changes."""
        ...

    def reschedule(
        self, event_id: UUID, *, delay: timedelta | None = None, at: datetime | None = None
    ) -> bool:
        """Move a pending event to a new due time; False when it was not pending."""
        ...
