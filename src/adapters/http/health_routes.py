"""``/health``, ``/health/live`` and ``/health/ready`` (see :mod:`.health` for the checks)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .auth import documented
from .health import HealthOut, LiveOut, ReadyOut
from .roles import Access
from .services import ServicesDep

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Down: Redis is unreachable."}},
    openapi_extra=documented(Access.OPEN),
)
def health(services: ServicesDep) -> JSONResponse:
    """200 while Redis is reachable, with ``status`` ok or degraded (no live worker, a
    threshold crossed) and ``failing`` naming each failing check; 503 only when Redis is
    unreachable. Open: counts and check names only, no payload or error text."""
    report = services.health.check()
    status = 503 if report.status == "down" else 200
    return JSONResponse(report.model_dump(mode="json"), status_code=status)


@router.get("/health/live", openapi_extra=documented(Access.OPEN))
def live() -> LiveOut:
    """The process is up and answering (a liveness probe: nothing else is checked)."""
    return LiveOut()


@router.get(
    "/health/ready",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Redis unreachable or too slow."}},
    openapi_extra=documented(Access.OPEN),
)
def ready(services: ServicesDep) -> JSONResponse:
    """200 when Redis answers a PING within HEXBUS_READY_MAX_LATENCY (always on the in-memory
    bus), else 503: for a load balancer's readiness check."""
    report = services.health.ready()
    status = 200 if report.status == "ready" else 503
    return JSONResponse(report.model_dump(mode="json"), status_code=status)
