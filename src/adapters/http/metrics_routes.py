"""``GET /metrics`` on the dashboard's server: Prometheus text, as README and ADR 0011 say.

This process's own counters (what it published) and the queue gauges read through the
monitor (so they are right however many workers there are). The handlers' counters are the
workers': ``hexbus worker`` serves them on ``HEXBUS_METRICS_PORT``. Counts only, so the same
access as the queue stats: open unless ``HEXBUS_API_READ_TOKEN`` is set (Prometheus sends it
with ``authorization: {credentials: ...}``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ..observability.metrics import render_latest
from .auth import CountsRole, documented
from .roles import Access
from .services import ServicesDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    openapi_extra=documented(Access.COUNTS),
)
def metrics(services: ServicesDep, role: CountsRole) -> Response:
    """Prometheus text exposition: this process's counters and every queue's gauges."""
    body, content_type = render_latest(services.monitor)
    return Response(body, media_type=content_type)
