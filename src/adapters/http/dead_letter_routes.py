"""``/api/v1/queues/failed``: dead letters listed newest first, retried, removed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .auth import Operator, ReaderRole, documented
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


@router.get("", openapi_extra=documented(Access.READ))
def list_dead_letters(
    services: ServicesDep,
    role: ReaderRole,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 50,
) -> DeadLetterPageOut:
    """Dead letters, newest first. The read token sees each event's header; the operator
    token the event in full (payload decrypted); error texts and tracebacks only with
    HEXBUS_SHOW_ERRORS=true."""
    page = services.dead_letters.list(offset=offset, limit=limit)
    return DeadLetterPageOut.from_page(page, services.view(role))


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
