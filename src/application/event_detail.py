"""Everything the event page shows of one event, gathered once for the API and the CLI.

The event's status per handler (the monitor), the dead letters of its dead handlers, the
envelope the bus still holds (a waiting, scheduled, retrying or running copy, else a dead
letter's), the event that caused it (read from that envelope's ``causation_id``, its type from
the cause's own status) and the events it caused (the browser's ``caused_by``, an index on
Redis). Nothing here decides who sees the payload: the HTTP view (ADR 0016) and the CLI (run
where Redis and the keys are, the operator's side) each do (ADR 0024).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import attrs

from ..ports.browsing import CausedEvents, EventBrowser, HeldEvent
from ..ports.dead_letters import DeadLetter, DeadLetters
from ..ports.monitoring import EventStatus, HandlerState, QueueMonitor
from .dead_letter_sweep import DeadLetterFilter, DeadLetterSweep

CAUSED_LIMIT = 20
"""Caused events listed by default."""


@attrs.frozen(kw_only=True)
class EventRef:
    """Another event, by id, with its type when its status is still kept."""

    event_id: str
    event_type: str | None


@attrs.frozen(kw_only=True)
class EventDetail:
    """One event as the console's event page shows it."""

    status: EventStatus
    dead_letters: tuple[DeadLetter, ...]
    held: HeldEvent | None
    """The envelope as stored (sealed if payloads are encrypted): reveal it for operators only."""
    caused_by: EventRef | None
    caused: CausedEvents


def event_detail(
    event_id: UUID,
    *,
    monitor: QueueMonitor,
    browser: EventBrowser,
    dead_letters: DeadLetters,
    caused_limit: int = CAUSED_LIMIT,
) -> EventDetail | None:
    """The event's detail, None when its status is unknown or expired."""
    status = monitor.event_status(event_id)
    if status is None:
        return None
    letters: tuple[DeadLetter, ...] = ()
    if any(h.state is HandlerState.DEAD for h in status.handlers):
        # One pass over the dead letters, only for an event that has some (ADR 0024).
        where = DeadLetterFilter(event_id=event_id)
        letters = tuple(DeadLetterSweep(dead_letters).matching(where))
    held = browser.held_event(event_id)
    if held is None and letters:
        held = HeldEvent(envelope=letters[0].message, found_in=f"dead letter {letters[0].id}")
    return EventDetail(
        status=status,
        dead_letters=letters,
        held=held,
        caused_by=_cause(held, monitor),
        caused=browser.caused_by(event_id, limit=caused_limit),
    )


def _cause(held: HeldEvent | None, monitor: QueueMonitor) -> EventRef | None:
    """The event named by the held envelope's ``causation_id`` (its header: no payload)."""
    if held is None:
        return None
    try:
        envelope: Any = json.loads(held.envelope)
    except ValueError:
        return None
    cause = envelope.get("causation_id") if isinstance(envelope, dict) else None
    if not cause:
        return None
    event_type = None
    try:
        status = monitor.event_status(UUID(str(cause)))
    except ValueError:
        status = None  # a causation id need not be an event id of this bus
    if status is not None:
        event_type = status.event_type
    return EventRef(event_id=str(cause), event_type=event_type)
