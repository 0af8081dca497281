"""``/api/v1/config``: the settings in force, as ``hexbus config`` prints them."""

from __future__ import annotations

from fastapi import APIRouter

from .services import ServicesDep

router = APIRouter(prefix="/api/v1", tags=["config"])


@router.get("/config")
def config(services: ServicesDep) -> dict[str, str]:
    """Each setting's value; secrets are redacted (the API token shows only set/not set)."""
    return services.settings.describe()
