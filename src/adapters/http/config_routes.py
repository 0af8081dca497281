"""``/api/v1/config``: the settings in force, as ``hexbus config`` prints them."""

from __future__ import annotations

from fastapi import APIRouter

from .auth import ReaderRole, documented
from .roles import Access
from .services import ServicesDep

router = APIRouter(prefix="/api/v1", tags=["config"])


@router.get("/config", openapi_extra=documented(Access.READ))
def config(services: ServicesDep, role: ReaderRole) -> dict[str, str]:
    """Each setting's value, secrets redacted (tokens and keys show only set / not set, the
    Redis URL with every credential masked). Needs the read or the operator token."""
    return services.settings.describe()
