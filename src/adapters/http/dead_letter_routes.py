"""``/api/v1/queues/failed``: dead letters listed newest first, retried, removed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .auth import MUTATING, Authorized
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

NOT_RETRYABLE: Responses = {
    409: {"model": ErrorOut, "description": "It cannot be retried (e.g. undecodable)."}
}
NOT_FOUND: Responses = {404: {"model": ErrorOut, "description": "No dead letter has this id."}}


@router.get("")
def list_dead_letters(
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, description="How many to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 50,
) -> DeadLetterPageOut:
    """Dead letters, newest first, with the error, its traceback and the event. Open to read."""
    return DeadLetterPageOut.from_page(services.dead_letters.list(offset=offset, limit=limit))


@router.post("/retry-all", dependencies=[Authorized], responses=MUTATING)
def retry_all(services: ServicesDep) -> RetriedAllOut:
    """Retry every dead letter that can be; those that cannot stay listed."""
    retried = services.dead_letters.retry_all()
    return RetriedAllOut(retried=retried, remaining=services.dead_letters.count())


@router.post(
    "/{dead_letter_id}/retry",
    dependencies=[Authorized],
    responses={
        **MUTATING,
        **NOT_FOUND,
        **NOT_RETRYABLE,
    },
)
def retry_dead_letter(dead_letter_id: str, services: ServicesDep) -> RetriedOut:
    """Deliver the event again to the one handler that failed, attempts counted afresh."""
    services.dead_letters.retry(dead_letter_id)
    return RetriedOut(id=dead_letter_id)


@router.delete("/{dead_letter_id}", dependencies=[Authorized], responses={**MUTATING, **NOT_FOUND})
def remove_dead_letter(dead_letter_id: str, services: ServicesDep) -> RemovedOut:
    """Delete the dead letter for good; its event is not delivered again."""
    services.dead_letters.remove(dead_letter_id)
    return RemovedOut(id=dead_letter_id)
