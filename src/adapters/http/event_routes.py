"""``/api/v1/events/{event_id}``: where each handler of one event is, and the actions on a
scheduled event (promote, reschedule, cancel: the operator token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final
from uuid import UUID

from fastapi import APIRouter, Query

from ...application.event_detail import CAUSED_LIMIT, event_detail
from .auth import Operator, ReaderRole, documented
from .browse_schemas import EventActionOut, RescheduleAt, RescheduleIn
from .errors import ApiError
from .event_detail_schemas import EventDetailOut
from .roles import Access
from .schemas import ErrorOut, Responses
from .services import ServicesDep

router = APIRouter(prefix="/api/v1/events", tags=["events"])
MAX_CAUSED: Final = 200


@router.get(
    "/{event_id}",
    responses={404: {"model": ErrorOut, "description": "Unknown, or its status expired."}},
    openapi_extra=documented(Access.READ),
)
def event_status(
    event_id: UUID,
    services: ServicesDep,
    role: ReaderRole,
    caused_limit: Annotated[int, Query(ge=1, le=MAX_CAUSED)] = CAUSED_LIMIT,
) -> EventDetailOut:
    """The event's status per handler (state, attempts, timings, progress, log lines; the
    last error only with HEXBUS_SHOW_ERRORS=true), the dead letters of its dead handlers, the
    event as the bus still holds it (payload decrypted for the operator token only, the
    header for the read token), the event that caused it and, at most ``caused_limit``, the
    events it caused (from the index kept by cause, ADR 0024). Needs the read or the
    operator token."""
    detail = event_detail(
        event_id,
        monitor=services.monitor,
        browser=services.browser,
        dead_letters=services.dead_letters,
        caused_limit=caused_limit,
    )
    if detail is None:
        raise ApiError(
            404,
            "UnknownEvent",
            f"no status for event {event_id}: it was never published here, or its status "
            "passed its retention (succeeded statuses are kept the shortest)",
        )
    return EventDetailOut.from_detail(detail, services.view(role))


NOT_PENDING: Responses = {
    409: {"model": ErrorOut, "description": "The event is not scheduled (any more)."},
}
OPERATE = documented(Access.OPERATE)


def _not_pending(event_id: UUID, action: str) -> ApiError:
    return ApiError(
        409,
        "NotScheduled",
        f"cannot {action} event {event_id}: it is not waiting for a due time (it was never "
        "published with a delay, is already due and queued or handled, or was cancelled)",
    )


@router.post(
    "/{event_id}/promote", dependencies=[Operator], responses=NOT_PENDING, openapi_extra=OPERATE
)
def promote(event_id: UUID, services: ServicesDep) -> EventActionOut:
    """Run a scheduled event now: its due time becomes now, and the mover queues it."""
    now = services.clock.now()
    if not services.scheduler.reschedule(event_id, at=now):
        raise _not_pending(event_id, "promote")
    return EventActionOut(event_id=event_id, action="promoted", due_at=now)


@router.post(
    "/{event_id}/reschedule",
    dependencies=[Operator],
    responses=NOT_PENDING,
    openapi_extra=OPERATE,
)
def reschedule(event_id: UUID, body: RescheduleIn, services: ServicesDep) -> EventActionOut:
    """Move a scheduled event to ``at``, or ``delay_seconds`` from now."""
    if isinstance(body, RescheduleAt):
        due = body.at
    else:
        due = services.clock.now() + timedelta(seconds=body.delay_seconds)
    if not services.scheduler.reschedule(event_id, at=due):
        raise _not_pending(event_id, "reschedule")
    return EventActionOut(event_id=event_id, action="rescheduled", due_at=due)


@router.post(
    "/{event_id}/cancel", dependencies=[Operator], responses=NOT_PENDING, openapi_extra=OPERATE
)
def cancel(event_id: UUID, services: ServicesDep) -> EventActionOut:
    """Cancel a scheduled event before it is due: none of its handlers will run."""
    if not services.scheduler.cancel(event_id):
        raise _not_pending(event_id, "cancel")
    return EventActionOut(event_id=event_id, action="cancelled", due_at=None)
