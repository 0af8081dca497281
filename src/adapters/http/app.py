"""The FastAPI application factory: one app over whichever adapter the container chose.

The CLI's ``hexbus dashboard`` and tests call :func:`create_app` with a container built by
``create_container``; the app takes the ports it needs from it once (:class:`.Services`) and
never builds adapters itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from ... import __version__
from . import (
    config_routes,
    dashboard,
    dead_letter_routes,
    event_routes,
    health_routes,
    queue_routes,
)
from .errors import install_error_handlers
from .services import Services

if TYPE_CHECKING:
    from ...container import Container

DESCRIPTION = """\
Operate a hexbus deployment: queue statistics and health, dead letters, event status,
pausing queues. The dashboard is at [/queues](/queues).

**Authorization.** GET endpoints are open (the dashboard polls them; settings are shown
redacted). Every POST and DELETE needs `Authorization: Bearer <HEXBUS_API_TOKEN>`: without a
token the answer is 401, with a wrong one 403, and when the server has no token configured
they are all refused with 403.

**Errors** answer `{"error": code, "detail": sentence}`: 404 for an unknown dead letter,
event or queue, 409 for a dead letter that cannot be retried, 422 for invalid input, 503 when
Redis cannot be reached.
"""


def create_app(container: Container) -> FastAPI:
    """The API and dashboard over ``container``'s ports (nothing connects until a request)."""
    app = FastAPI(title="hexbus", version=__version__, description=DESCRIPTION)
    app.state.services = Services.from_container(container)
    install_error_handlers(app)
    for module in (
        queue_routes,
        dead_letter_routes,
        event_routes,
        config_routes,
        health_routes,
        dashboard,
    ):
        app.include_router(module.router)
    return app
