"""Reading the header of the envelopes a Redis index holds: one row of a listing each.

Shared by the listings (:mod:`.browser`) and the event page's look-ups (:mod:`.event_copies`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ...ports.browsing import BrowseState, EventSummary


def to_time(ms: float | int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(float(ms) / 1000, UTC)


def envelope_header(envelope: Any) -> tuple[str | None, str | None, str | None, UUID | None]:
    if not isinstance(envelope, dict):
        return None, None, None, None
    try:
        event_id = UUID(str(envelope.get("event_id")))
    except ValueError:
        event_id = None
    event_type = envelope.get("event_type")
    correlation = envelope.get("correlation_id")
    causation = envelope.get("causation_id")
    return (
        event_type if isinstance(event_type, str) else None,
        str(correlation) if correlation else None,
        str(causation) if causation else None,
        event_id,
    )


def message_row(queue: str, state: BrowseState, body: Any) -> EventSummary | None:
    """A Dramatiq message of one handler (``messages.MESSAGE_TEMPLATE``)."""
    if body is None:
        return None
    try:
        message = json.loads(body)
        handler, envelope = message["args"][0], message["args"][1]
        attempt = int(message["options"].get("hexbus_attempt", 1))
        at = message.get("message_timestamp")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    event_type, correlation, causation, event_id = envelope_header(envelope)
    if event_id is None:
        return None
    return EventSummary(
        event_id=event_id,
        event_type=event_type,
        queue=queue,
        state=state,
        handlers=(str(handler),),
        at=to_time(at) if isinstance(at, int) else None,
        attempts=attempt - 1 if state is BrowseState.WAITING else attempt,
        correlation_id=correlation,
        causation_id=causation,
    )
