"""``GET /queues``: the dashboard, one HTML page served as it is, no build step.

The page (``dashboard.html`` beside this module) carries its CSS and a small script inline;
the server fills in only its version, the bus's kind and a fresh nonce that the Content
Security Policy requires of every script and style, so even if some text slipped past escaping
it could not run. It holds no data: the script asks for a token, polls the JSON API with it
(counts open, the rest as the token allows, ADR 0016) and draws with ``textContent`` only; the
settings come from ``/api/v1/config`` like everything else.
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
def _template(name: str = "dashboard.html") -> str:
    return resources.files(__package__).joinpath(name).read_text("utf-8")


def render(settings: Settings, nonce: str, page: str = "dashboard.html") -> str:
    """The page with ``nonce`` filled in (values escaped)."""
    values = {
        "nonce": html.escape(nonce),
        "version": html.escape(__version__),
        "bus": "Dramatiq/Redis" if settings.use_queue_event_bus else "in-memory",
    }
    # One pass, so a value that happens to contain a marker is never expanded itself.
    return _MARKER.sub(lambda m: values[m.group(1)], _template(page))


def policy(nonce: str) -> str:
    """The Content Security Policy of a page whose scripts and styles carry ``nonce``."""
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


@router.get("/queues", response_class=HTMLResponse, include_in_schema=False)
def dashboard(services: ServicesDep) -> HTMLResponse:
    """The live dashboard: queues, health, dead letters (retry, remove), pause and resume."""
    return _page(services.settings, "dashboard.html")


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
def console(services: ServicesDep) -> HTMLResponse:
    """The console (``console.html``): events by queue and state, one event's handlers with
    their progress and log lines, promote/reschedule/cancel, workers and schedules."""
    return _page(services.settings, "console.html")


def _page(settings: Settings, page: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(18)
    return HTMLResponse(
        render(settings, nonce, page),
        headers={
            "Content-Security-Policy": policy(nonce),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The dashboard is the home page."""
    return RedirectResponse("/queues")
