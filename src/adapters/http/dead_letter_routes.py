"""``/api/v1/queues/failed``: dead letters listed newest first and by filter, retried and
removed one by one or by filter in batches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from ...application.dead_letter_sweep import DeadLetterFilter, DeadLetterSweep, SweepAction
from ...ports.dead_letters import DeadLetterPage
from .auth import Operator, ReaderRole, documented
from .browse_schemas import Moment, SweepIn, SweepOut
from .roles import Access
from .schemas import (
    DeadLetterPageOut,
    ErrorOut,
    RemovedOut,
    Responses,
    RetriedAllOut,
    RetriedOut,
)
from .services import ServicesDep

router = APIRouter(prefix="/api/v1/queues/failed", tags=["dead letters"])

MAX_LIMIT = 500
"""A page is built in memory: cap it so one request cannot ask for a million."""
MAX_OFFSET = 1_000_000_000
"""Far past any real list, and far from overflowing Redis's 64-bit ranges."""
OPERATE = documented(Access.OPERATE)

NOT_RETRYABLE: Responses = {
    409: {"model": ErrorOut, "description": "It cannot be retried (e.g. undecodable)."}
}
NOT_FOUND: Responses = {404: {"model": ErrorOut, "description": "No dead letter has this id."}}


Text = Annotated[str | None, Query(max_length=200)]


@router.get("", openapi_extra=documented(Access.READ))
def list_dead_letters(  # noqa: PLR0917 (FastAPI passes each query parameter by name)
    services: ServicesDep,
    role: ReaderRole,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 50,
    queue: Text = None,
    handler: Text = None,
    error_type: Annotated[
        str | None, Query(max_length=200, description="Full name or class name.")
    ] = None,
    since: Annotated[Moment | None, Query(description="Failed at or after.")] = None,
    until: Annotated[
        Moment | None, Query(description="Failed at or before (before 'since': none match).")
    ] = None,
) -> DeadLetterPageOut:
    """Dead letters, newest first, filtered by queue, handler, error type and time window
    (``total`` then counts the matches). The read token sees each event's header; the
    operator token the event in full (payload decrypted); error texts and tracebacks only
    with HEXBUS_SHOW_ERRORS=true."""
    where = _filter(queue, handler, error_type, since, until)
    if where.empty:
        page = services.dead_letters.list(offset=offset, limit=limit)
    else:
        items, total = DeadLetterSweep(services.dead_letters).page(
            where, offset=offset, limit=limit
        )
        page = DeadLetterPage(items=tuple(items), total=total, offset=offset, limit=limit)
    return DeadLetterPageOut.from_page(page, services.view(role))


def _filter(
    queue: str | None,
    handler: str | None,
    error_type: str | None,
    since: datetime | None,
    until: datetime | None,
) -> DeadLetterFilter:
    # A window whose start is after its end is schema-valid input: it matches nothing.
    return DeadLetterFilter(
        queue=queue, handler=handler, error_type=error_type, since=since, until=until
    )


@router.post("/sweep", dependencies=[Operator], openapi_extra=OPERATE)
def sweep(body: SweepIn, services: ServicesDep) -> SweepOut:
    """Count, retry or remove the dead letters that match the filter, oldest first.

    ``action=count`` is the dry run: it changes nothing. ``retry`` and ``remove`` act on at
    most ``batch_size`` of them per call and say how many ``remaining``: call again (passing
    the ``skipped`` so far as ``skip``) until none remain, which is how a client shows
    progress. A dead letter that cannot be retried is skipped and stays.
    """
    where = _filter(body.queue, body.handler, body.error_type, body.since, body.until)
    sweeper = DeadLetterSweep(services.dead_letters)
    if body.action == "count":
        matched = sweeper.count(where)
        return SweepOut(action="count", matched=matched, done=0, skipped=0, remaining=matched)
    result = sweeper.sweep(
        where,
        SweepAction(body.action),
        batch_size=body.batch_size,
        batches=1,
        skip=body.skip,
    )
    return SweepOut(
        action=body.action,
        matched=result.matched,
        done=result.done,
        skipped=result.skipped,
        remaining=result.remaining,
    )


@router.post("/retry-all", dependencies=[Operator], openapi_extra=OPERATE)
def retry_all(services: ServicesDep) -> RetriedAllOut:
    """Retry every dead letter that can be; those that cannot stay listed."""
    retried = services.dead_letters.retry_all()
    return RetriedAllOut(retried=retried, remaining=services.dead_letters.count())


@router.post(
    "/{dead_letter_id}/retry",
    dependencies=[Operator],
    responses={**NOT_FOUND, **NOT_RETRYABLE},
    openapi_extra=OPERATE,
)
def retry_dead_letter(dead_letter_id: str, services: ServicesDep) -> RetriedOut:
    """Deliver the event again to the one handler that failed, attempts counted afresh."""
    services.dead_letters.retry(dead_letter_id)
    return RetriedOut(id=dead_letter_id)


@router.delete(
    "/{dead_letter_id}", dependencies=[Operator], responses=NOT_FOUND, openapi_extra=OPERATE
)
def remove_dead_letter(dead_letter_id: str, services: ServicesDep) -> RemovedOut:
    """Delete the dead letter for good; its event is not delivered again."""
    services.dead_letters.remove(dead_letter_id)
    return RemovedOut(id=dead_letter_id)
