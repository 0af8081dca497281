"""Listing a queue's events by state on the in-memory bus, from its monitor's records.

The same rows as on Redis (:mod:`hexbus.adapters.dramatiq.browser`), from each handler's
state: queued is waiting, failed (another attempt due) is retrying, and an event is listed as
succeeded once every handler of it succeeded. Nothing ever waits on this synchronous bus, and
no worker process serves it: the workers list is empty. The monitor keeps each event until
it is finished or cancelled, so its envelope is held (serialized, and sealed, as the Redis bus
would hold it) while any handler of it is still to run or retrying; the events it caused are
every kept record naming it as their cause, in any state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from ...domain.serialization import EventSerializer
from ...ports.browsing import (
    BrowseState,
    CausedEvents,
    EventFilter,
    EventPage,
    EventSummary,
    HeldEvent,
    WorkerInfo,
)
from ...ports.dead_letters import DeadLetters
from ...ports.monitoring import HandlerState, HandlerStatus
from .monitor import InMemoryMonitor, Kept

_STATES: Final = {
    HandlerState.QUEUED: BrowseState.WAITING,
    HandlerState.SCHEDULED: BrowseState.SCHEDULED,
    HandlerState.RUNNING: BrowseState.RUNNING,
    HandlerState.FAILED: BrowseState.RETRYING,
    HandlerState.SUCCEEDED: BrowseState.SUCCEEDED,
    HandlerState.DEAD: BrowseState.DEAD,
}
_EPOCH: Final = datetime.fromtimestamp(0, UTC)
_HELD: Final = frozenset(
    {HandlerState.QUEUED, HandlerState.SCHEDULED, HandlerState.RUNNING, HandlerState.FAILED}
)


class InMemoryEventBrowser:
    """The :class:`EventBrowser` port over an :class:`InMemoryMonitor`."""

    def __init__(
        self, monitor: InMemoryMonitor, dead_letters: DeadLetters, serializer: EventSerializer
    ) -> None:
        self._monitor = monitor
        self._dead_letters = dead_letters
        self._serializer = serializer

    def browse(
        self,
        queue: str,
        state: BrowseState,
        *,
        cursor: int = 0,
        limit: int = 50,
        where: EventFilter | None = None,
    ) -> EventPage:
        """Every kept record's row for ``queue`` and ``state``, newest first."""
        if cursor < 0 or limit < 1:
            raise ValueError("cursor must be >= 0 and limit >= 1")
        keep = where or EventFilter()
        rows = [row for kept in self._monitor.kept() if (row := self._row(kept, queue, state))]
        rows = [row for row in rows if keep.keeps(row)]
        rows.sort(key=lambda row: row.at or _EPOCH, reverse=True)
        page = rows[cursor : cursor + limit]
        end = cursor + len(page)
        return EventPage(
            items=tuple(page), next_cursor=end if end < len(rows) else None, scanned=len(rows)
        )

    def workers(self) -> list[WorkerInfo]:
        """None: handlers run in the publisher's process."""
        return []

    def held_event(self, event_id: UUID) -> HeldEvent | None:
        """The event, serialized, while a handler of it is still to run (or to run again)."""
        for kept in self._monitor.kept():
            if kept.status.event_id != event_id or kept.event is None:
                continue
            if any(h.state in _HELD for h in kept.status.handlers):
                return HeldEvent(envelope=self._serializer.dumps(kept.event), found_in="memory")
        return None

    def caused_by(self, event_id: UUID, *, limit: int = 20) -> CausedEvents:
        """Every kept record whose cause is ``event_id``: one row per queue, newest first."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        cause = str(event_id)
        kept = self._monitor.kept()
        rows: list[EventSummary] = []
        for record in kept:
            if record.causation_id != cause:
                continue
            for queue in sorted({h.queue for h in record.status.handlers}):
                rows += [r for state in BrowseState if (r := self._row(record, queue, state))]
        rows.sort(key=lambda row: row.at or _EPOCH, reverse=True)
        return CausedEvents(
            items=tuple(rows[:limit]), scanned=len(kept), complete=len(rows) <= limit
        )

    def _row(self, kept: Kept, queue: str, state: BrowseState) -> EventSummary | None:
        status = kept.status
        mine = [
            h
            for h in status.handlers
            if h.queue.split(".", 1)[0] == queue.split(".", 1)[0] and _STATES.get(h.state) is state
        ]
        if not mine:
            return None
        if state is BrowseState.SUCCEEDED and kept.finished_at is None:
            return None  # listed once every handler succeeded, as on Redis
        dead_letter_id = None
        if state is BrowseState.DEAD:
            dead_letter_id = self._dead_letter_of(status.event_id, mine[0].handler)
        return EventSummary(
            event_id=status.event_id,
            event_type=status.event_type,
            queue=queue,
            state=state,
            handlers=tuple(h.handler for h in mine),
            at=_when(state, mine, kept),
            attempts=max(h.attempts for h in mine),
            correlation_id=kept.correlation_id,
            causation_id=kept.causation_id,
            dead_letter_id=dead_letter_id,
        )

    def _dead_letter_of(self, event_id: object, handler: str) -> str | None:
        page = self._dead_letters.list(offset=0, limit=500)
        for letter in page.items:
            if letter.event_id == event_id and letter.handler == handler:
                return letter.id
        return None


def _when(state: BrowseState, handlers: list[HandlerStatus], kept: Kept) -> datetime | None:
    if state is BrowseState.SUCCEEDED:
        return kept.finished_at
    if state in (BrowseState.SCHEDULED, BrowseState.RETRYING):
        due = [h.next_attempt_at for h in handlers if h.next_attempt_at]
        return max(due) if due else kept.status.due_at
    if state is BrowseState.RUNNING:
        started = [h.started_at for h in handlers if h.started_at]
        return max(started) if started else None
    updated = [h.updated_at for h in handlers if h.updated_at]
    return max(updated) if updated else kept.status.published_at
