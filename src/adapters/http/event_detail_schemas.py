"""The event page's body: the event's status, the event as the bus still holds it (by the
caller's role), the event that caused it and the events it caused (ADR 0024)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ...application.event_detail import EventDetail
from .browse_schemas import EventSummaryOut
from .schemas import EventStatusOut
from .views import Hidden, View


class EventRefOut(BaseModel):
    """Another event: its id, and its type while its status is kept (else null)."""

    event_id: str
    event_type: str | None


class EventDetailOut(EventStatusOut):
    """An event's status per handler, its held copy and its causation chain."""

    message: str | None = Field(
        description="The event as the bus still holds it (a waiting, scheduled, retrying or "
        "running message, else a dead letter), JSON text: in full for the operator token, its "
        "payload decrypted; its header only for the read token; null when no copy is held "
        "(succeeded, cancelled) or none could be located."
    )
    message_found_in: str | None = Field(
        description="Which copy was read: 'queue <name>', 'schedule', 'memory' or "
        "'dead letter <id>'."
    )
    message_redacted: list[Hidden] = Field(description="What was left out of ``message``.")
    caused_by: EventRefOut | None = Field(
        description="The event that caused it (the held copy's causation_id); null when it has "
        "none or no copy is held."
    )
    caused: list[EventSummaryOut] = Field(
        description="Events whose causation_id is this event, one row per queue, newest first, "
        "at most caused_limit; on Redis from the index the publish keeps by cause "
        "({ns}:caused:{id}), in any state while their records are kept."
    )
    caused_complete: bool = Field(
        description="False when the limit stopped the read before the end of what is recorded."
    )
    caused_scanned: int = Field(description="Index entries read to find the caused events.")

    @classmethod
    def from_detail(cls, detail: EventDetail, view: View) -> EventDetailOut:
        """The application's event detail as JSON, as ``view`` lets its caller see it."""
        base = EventStatusOut.from_status(detail.status, view, detail.dead_letters)
        message: str | None = None
        hidden: list[Hidden] = []
        if detail.held is not None:
            message, hidden = view.message(detail.held.envelope)
        cause = detail.caused_by
        return cls(
            **base.model_dump(),
            message=message,
            message_found_in=detail.held.found_in if detail.held else None,
            message_redacted=hidden,
            caused_by=EventRefOut(event_id=cause.event_id, event_type=cause.event_type)
            if cause
            else None,
            caused=[EventSummaryOut.from_summary(row) for row in detail.caused.items],
            caused_complete=detail.caused.complete,
            caused_scanned=detail.caused.scanned,
        )
