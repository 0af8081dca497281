"""Browsing a queue's events by state, and the live workers: what an operator's console lists.

Both adapters implement :class:`EventBrowser`. A page is walked from an index the bus already
keeps (a queue's list, the schedule, the acks sets, the succeeded and dead indexes), newest
first, never by scanning the keyspace; each call reads at most a bounded window of that index
(``scanned``), so a filter that matches rarely returns a short page and a cursor to go on
from (ADR 0024).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Protocol
from uuid import UUID

import attrs


class BrowseState(Enum):
    """The lists an operator browses a queue by."""

    WAITING = "waiting"
    """Queued, ready for a worker."""
    SCHEDULED = "scheduled"
    """Published for later (a delay or a due time); can be promoted, rescheduled, cancelled."""
    RUNNING = "running"
    """Taken by a live worker and not yet settled."""
    RETRYING = "retrying"
    """Failed and due again after its backoff (or waiting for a rate-limit slot)."""
    SUCCEEDED = "succeeded"
    """Every handler succeeded, within the succeeded retention (24 h, newest 1,000)."""
    DEAD = "dead"
    """Dead-lettered."""


@attrs.frozen(kw_only=True)
class EventSummary:
    """One row of a listing: an event, the handlers of it the row is about, and when."""

    event_id: UUID
    event_type: str | None
    queue: str
    state: BrowseState
    handlers: tuple[str, ...]
    at: datetime | None
    """When it entered the list: queued, due (scheduled, retrying), started (running),
    finished (succeeded) or failed (dead)."""
    attempts: int = 0
    correlation_id: str | None = None
    causation_id: str | None = None
    dead_letter_id: str | None = None


@attrs.frozen(kw_only=True)
class EventPage:
    """A page of a listing, newest first, and where the next one starts (None: the end)."""

    items: tuple[EventSummary, ...]
    next_cursor: int | None
    scanned: int
    """Entries of the index read for this page (the cost of the call)."""


@attrs.frozen(kw_only=True)
class EventFilter:
    """What to keep of a listing; an empty filter keeps everything."""

    event_type: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None

    def keeps(self, summary: EventSummary) -> bool:
        """Whether ``summary`` passes every field that is set."""
        return (
            (self.event_type is None or summary.event_type == self.event_type)
            and (self.correlation_id is None or summary.correlation_id == self.correlation_id)
            and (self.causation_id is None or summary.causation_id == self.causation_id)
        )


@attrs.frozen(kw_only=True)
class WorkerInfo:
    """One live worker process."""

    worker: str
    queues: tuple[str, ...]
    threads: int | None
    in_flight: int
    heartbeat_at: datetime | None
    started_at: datetime | None


@attrs.frozen(kw_only=True)
class HeldEvent:
    """An event's envelope as the bus still holds it, and where it was found."""

    envelope: str
    """The wire form (JSON text; its payload sealed when payloads are encrypted)."""
    found_in: str
    """``queue <name>``, ``schedule`` or ``memory``: which copy was read."""


@attrs.frozen(kw_only=True)
class CausedEvents:
    """The events one event caused (their ``causation_id`` is its id), as far as found."""

    items: tuple[EventSummary, ...]
    scanned: int
    """Index entries read to find them (the cost of the call)."""
    complete: bool
    """False when the limit stopped the read before the end of what is recorded."""


class EventBrowser(Protocol):
    """Lists a queue's events by state, and the workers serving the bus."""

    def browse(
        self,
        queue: str,
        state: BrowseState,
        *,
        cursor: int = 0,
        limit: int = 50,
        where: EventFilter | None = None,
    ) -> EventPage:
        """A page of ``queue``'s events in ``state``, newest first, from ``cursor`` (a
        position in the index, given back as ``next_cursor``). Reads a bounded window of the
        index per call, whatever the filter."""
        ...

    def workers(self) -> list[WorkerInfo]:
        """The live workers, by id."""
        ...

    def held_event(self, event_id: UUID) -> HeldEvent | None:
        """The event's envelope if the bus still holds a copy outside the dead letters (a
        waiting, scheduled, retrying or running message), found without scanning; None when
        it holds none (succeeded, cancelled, or a copy it cannot locate: ADR 0024)."""
        ...

    def caused_by(self, event_id: UUID, *, limit: int = 20) -> CausedEvents:
        """The events whose ``causation_id`` is ``event_id``, in any state while their
        records are kept, newest first, at most ``limit``; a read bounded by ``limit``
        whatever the number of events (ADR 0024)."""
        ...
