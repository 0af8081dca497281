"""``GET /health`` for load balancers and uptime checks (see :mod:`.health` for the checks)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .health import HealthOut
from .services import ServicesDep

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Degraded or down."}},
)
def health(services: ServicesDep) -> JSONResponse:
    """200 when ok; 503 when Redis is unreachable, no worker is alive, or a threshold is
    crossed. Each check says why."""
    report = services.health.check()
    status = 200 if report.status == "ok" else 503
    return JSONResponse(report.model_dump(mode="json"), status_code=status)
