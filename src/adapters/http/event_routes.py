"""``/api/v1/events/{event_id}``: where each handler of one event is."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from .errors import ApiError
from .schemas import ErrorOut, EventStatusOut
from .services import ServicesDep

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.get(
    "/{event_id}",
    responses={404: {"model": ErrorOut, "description": "Unknown, or its status expired."}},
)
def event_status(event_id: UUID, services: ServicesDep) -> EventStatusOut:
    """The event's status per handler (state, attempts, last error, timings). Open to read."""
    status = services.monitor.event_status(event_id)
    if status is None:
        raise ApiError(
            404,
            "UnknownEvent",
            f"no status for event {event_id}: it was never published here, or its status "
            "passed its retention (succeeded statuses are kept the shortest)",
        )
    return EventStatusOut.from_status(status)
