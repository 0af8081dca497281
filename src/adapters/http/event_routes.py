"""``/api/v1/events/{event_id}``: where each handler of one event is."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from .auth import ReaderRole, documented
from .errors import ApiError
from .roles import Access
from .schemas import ErrorOut, EventStatusOut
from .services import ServicesDep

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.get(
    "/{event_id}",
    responses={404: {"model": ErrorOut, "description": "Unknown, or its status expired."}},
    openapi_extra=documented(Access.READ),
)
def event_status(event_id: UUID, services: ServicesDep, role: ReaderRole) -> EventStatusOut:
    """The event's status per handler (state, attempts, timings; the last error only with
    HEXBUS_SHOW_ERRORS=true). Needs the read or the operator token."""
    status = services.monitor.event_status(event_id)
    if status is None:
        raise ApiError(
            404,
            "UnknownEvent",
            f"no status for event {event_id}: it was never published here, or its status "
            "passed its retention (succeeded statuses are kept the shortest)",
        )
    return EventStatusOut.from_status(status, services.view(role))
