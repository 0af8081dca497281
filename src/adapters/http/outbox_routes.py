"""``GET /api/v1/outbox``: the PostgreSQL outbox's backlog (what no relay has published yet).

Needs the read token (``HEXBUS_API_READ_TOKEN``) or the operator's: the latest relay error is
an error text. 404 when this process has no ``DATABASE_URL`` (no outbox to read).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from .auth import ReaderRole, documented
from .errors import ApiError
from .roles import Access
from .schemas import ErrorOut
from .services import ServicesDep

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])


class OutboxOut(BaseModel):
    """The outbox's backlog."""

    rows: int
    """Events committed by units of work and not yet published by a relay."""
    retrying: int
    """Of those, rows a relay failed to publish (the bus was down), waiting for a retry."""
    oldest_age_seconds: float | None
    """How long the oldest row has waited; null when the outbox is empty."""
    max_attempts: int
    last_error: str | None


@router.get(
    "",
    openapi_extra=documented(Access.READ),
    responses={404: {"model": ErrorOut, "description": "No DATABASE_URL: no outbox."}},
)
def outbox_stats(services: ServicesDep, role: ReaderRole) -> OutboxOut:
    """The outbox's backlog: rows waiting, retrying, the age of the oldest, the latest error."""
    if services.outbox is None:
        raise ApiError(404, "NoOutbox", "this process has no DATABASE_URL: there is no outbox")
    stats = services.outbox.stats()
    return OutboxOut(
        rows=stats.rows,
        retrying=stats.retrying,
        oldest_age_seconds=None
        if stats.oldest_age is None
        else round(stats.oldest_age.total_seconds(), 3),
        max_attempts=stats.max_attempts,
        last_error=stats.last_error,
    )
