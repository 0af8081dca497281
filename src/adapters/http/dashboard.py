"""``GET /queues``: the dashboard, one HTML page served as it is, no build step.

The page (``dashboard.html`` beside this module) carries its CSS and a small script inline;
the server fills in the configuration, escaped, and a fresh nonce that the Content Security
Policy requires of every script and style, so even if some text slipped past escaping it could
not run. The script polls the JSON API and draws with ``textContent`` only.
"""

from __future__ import annotations

import functools
import html
import re
import secrets
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from ... import __version__
from ...settings import Settings
from .services import ServicesDep

router = APIRouter(tags=["dashboard"])

_MARKER = re.compile(r"\{\{(\w+)\}\}")


@functools.cache
def _template() -> str:
    return resources.files(__package__).joinpath("dashboard.html").read_text("utf-8")


def render(settings: Settings, nonce: str) -> str:
    """The page with the settings in force and ``nonce`` filled in (values escaped)."""
    rows = "".join(
        f"<div><dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd></div>"
        for name, value in settings.describe().items()
    )
    values = {
        "config_rows": rows,
        "nonce": html.escape(nonce),
        "version": html.escape(__version__),
        "bus": "Dramatiq/Redis" if settings.use_queue_event_bus else "in-memory",
    }
    # One pass, so a value that happens to contain a marker is never expanded itself.
    return _MARKER.sub(lambda m: values[m.group(1)], _template())


def _policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


@router.get("/queues", response_class=HTMLResponse)
def dashboard(services: ServicesDep) -> HTMLResponse:
    """The live dashboard: queues, health, dead letters (retry, remove), pause and resume."""
    nonce = secrets.token_urlsafe(18)
    return HTMLResponse(
        render(services.settings, nonce),
        headers={
            "Content-Security-Policy": _policy(nonce),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The dashboard is the home page."""
    return RedirectResponse("/queues")
