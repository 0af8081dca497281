"""``/api/v1/queues``: per-queue statistics, pausing and resuming, cleaning old records."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from ...ports.monitoring import HandlerState
from .auth import CountsRole, Operator, documented
from .errors import ApiError
from .roles import Access
from .schemas import CleanIn, CleanOut, ErrorOut, QueuesOut, QueueStateOut, Responses
from .services import Services, ServicesDep

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])

UNKNOWN_QUEUE: Responses = {404: {"model": ErrorOut, "description": "No such queue."}}
OPERATE = documented(Access.OPERATE)


@router.get("/stats", openapi_extra=documented(Access.COUNTS))
def queue_stats(services: ServicesDep, role: CountsRole) -> QueuesOut:
    """Every queue's counts, throughput, mean duration, failure rate and health badge.

    The badge is ``warning`` when the failure rate is above HEXBUS_ALERT_FAILURE_RATE or the
    backlog (messages waiting) above HEXBUS_ALERT_BACKLOG, ``busy`` while anything waits or
    runs, else ``healthy``; ``health`` is the worst of them. ``unrouted`` counts, per event
    type, the events accepted while no handler subscribed to it. Counts only: open unless
    HEXBUS_API_READ_TOKEN is set, then it needs the read or the operator token.
    """
    monitor = services.monitor
    return QueuesOut.from_stats(monitor.queue_stats(), services.thresholds, monitor.unrouted())


def _known(services: Services, queue: str) -> None:
    queues = [s.queue for s in services.monitor.queue_stats()]
    if queue not in queues:
        raise ApiError(
            404,
            "UnknownQueue",
            f"no queue named {queue!r}; known queues: {', '.join(queues) or 'none'}",
        )


@router.post(
    "/{queue}/pause",
    dependencies=[Operator],
    responses=UNKNOWN_QUEUE,
    openapi_extra=OPERATE,
)
def pause_queue(queue: str, services: ServicesDep) -> QueueStateOut:
    """Stop handing out the queue's events; they are kept until it is resumed."""
    _known(services, queue)
    services.control.pause(queue)
    return QueueStateOut(queue=queue, paused=True)


@router.post(
    "/{queue}/resume",
    dependencies=[Operator],
    responses=UNKNOWN_QUEUE,
    openapi_extra=OPERATE,
)
def resume_queue(queue: str, services: ServicesDep) -> QueueStateOut:
    """Hand out the queue's events again, those kept while paused first."""
    _known(services, queue)
    services.control.resume(queue)
    return QueueStateOut(queue=queue, paused=False)


@router.post("/clean", dependencies=[Operator], openapi_extra=OPERATE)
def clean(body: CleanIn, services: ServicesDep) -> CleanOut:
    """Remove succeeded statuses or dead letters older than ``older_than_seconds`` now.

    Records past their retention go by themselves; this is for doing it sooner.
    """
    state = HandlerState.SUCCEEDED if body.state == "succeeded" else HandlerState.DEAD
    removed = services.monitor.clean(
        state=state, older_than=timedelta(seconds=body.older_than_seconds)
    )
    return CleanOut(state=body.state, older_than_seconds=body.older_than_seconds, removed=removed)
