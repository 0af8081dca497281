"""``/api/v1/queues/{queue}/events``, ``/api/v1/schedules``, ``/api/v1/workers``: what the
console lists (ADR 0024). Reads: the read or the operator token; rows carry no payload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...ports.browsing import BrowseState, EventFilter
from .auth import ReaderRole, documented
from .browse_schemas import EventPageOut, SchedulesOut, WorkerOut, WorkersOut
from .errors import ApiError
from .queue_routes import UNKNOWN_QUEUE
from .roles import Access
from .schemas import ErrorOut
from .services import ServicesDep

router = APIRouter(prefix="/api/v1", tags=["browse"])
READ = documented(Access.READ)

StateName = Annotated[
    BrowseState,
    Query(description="waiting, scheduled, running, retrying, succeeded or dead."),
]
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/queues/{queue}/events", responses=UNKNOWN_QUEUE, openapi_extra=READ)
def queue_events(  # noqa: PLR0917 (FastAPI passes each query parameter by name)
    queue: str,
    services: ServicesDep,
    role: ReaderRole,
    state: StateName,
    cursor: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    event_type: Text = None,
    correlation_id: Text = None,
    causation_id: Text = None,
) -> EventPageOut:
    """The queue's events in ``state``, newest first, a page at a time (``cursor`` is the
    previous page's ``next_cursor``), filtered by event type, correlation or causation id.

    Each call reads a bounded window of the index that orders the state (``scanned``), so a
    rare match may come back as a short page with a ``next_cursor``: ask again to go on.
    """
    queues = [s.queue for s in services.monitor.queue_stats()]
    if queue not in queues:
        raise ApiError(
            404,
            "UnknownQueue",
            f"no queue named {queue!r}; known queues: {', '.join(queues) or 'none'}",
        )
    where = EventFilter(
        event_type=event_type, correlation_id=correlation_id, causation_id=causation_id
    )
    page = services.browser.browse(queue, state, cursor=cursor, limit=limit, where=where)
    return EventPageOut.from_page(queue, state.value, page)


@router.get("/schedules", openapi_extra=READ)
def schedules(services: ServicesDep, role: ReaderRole) -> SchedulesOut:
    """The recurring schedules of the app this server loaded (``--app``): rule, time zone,
    catch-up policy, next fire and last tick."""
    return SchedulesOut.from_scheduler(services.recurring)


@router.get(
    "/workers",
    responses={503: {"model": ErrorOut, "description": "Redis could not be reached."}},
    openapi_extra=READ,
)
def workers(services: ServicesDep, role: ReaderRole) -> WorkersOut:
    """The live workers: queues, threads, messages in flight, heartbeat age, start time."""
    now = services.clock.now()
    return WorkersOut(workers=[WorkerOut.from_info(w, now) for w in services.browser.workers()])
