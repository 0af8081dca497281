"""The FastAPI application factory: one app over whichever adapter the container chose.

The CLI's ``hexbus dashboard`` and tests call :func:`create_app` with a container built by
``create_container``; the app takes the ports it needs from it once (:class:`.Services`) and
never builds adapters itself. :class:`~.guard.Guard` stands in front of every route (trusted
hosts, the operator token before a body is read, a body cap), and :func:`document` makes the
OpenAPI document say what the server really answers: the one error body for every 4xx and
5xx, the 401/403 of each access level as configured (ADR 0016).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ... import __version__
from . import (
    browse_routes,
    config_routes,
    dashboard,
    dead_letter_routes,
    docs,
    event_routes,
    health_routes,
    metrics_routes,
    outbox_routes,
    queue_routes,
)
from .errors import install_error_handlers
from .guard import Guard
from .roles import ACCESS_KEY, Access
from .schemas import ErrorOut
from .services import Services
from .settings import ApiSettings

if TYPE_CHECKING:
    from ...container import Container

SCHEME = "HEXBUS_API_TOKEN"

DESCRIPTION = """\
Operate a hexbus deployment: queue statistics and health, dead letters, event status,
pausing queues. The dashboard is at [/queues](/queues).

**Authorization** (`Authorization: Bearer <token>`), two roles:

* the **read token** (`HEXBUS_API_READ_TOKEN`) or the operator token reads queue stats, event
  status, dead letters (each event's header, not its payload) and the settings (redacted);
* the **operator token** (`HEXBUS_API_TOKEN`) is needed for every POST and DELETE, and is the
  only one shown events' payload fields (decrypted when payloads are encrypted at rest).

Without a read token configured, only the queue counts (`/api/v1/queues/stats`, `/metrics`)
and `/health` are open. Error texts and tracebacks are served only with
`HEXBUS_SHOW_ERRORS=true`. No token sent: 401; a wrong one, or the read token for a change:
403; with no token configured on the server, what needs one is refused with 403.

**Errors** answer `{"error": code, "detail": sentence}`: 400 for a host name the server does
not answer to (`HEXBUS_ALLOWED_HOSTS`), 404 for an unknown dead letter, event or queue, 409
for a dead letter that cannot be retried, 413 for a body over `HEXBUS_API_MAX_BODY`, 422 for
invalid input (malformed JSON included), 500 for a data error on the server's Redis, 503 only
when Redis cannot be reached.
"""

_ERRORS: dict[str, str] = {
    "400": "The Host header names a host this server does not answer to "
    "(HEXBUS_ALLOWED_HOSTS), or the request could not be read.",
    "500": "The server's Redis refused the command (a data error), or the server failed: "
    "nothing in the body names its internals; the log has them under the error id.",
    "503": "Redis could not be reached or did not answer in time.",
}
_AUTH: dict[Access, dict[str, str]] = {
    Access.COUNTS: {
        "401": "No bearer token was sent (HEXBUS_API_READ_TOKEN is set).",
        "403": "The token is neither the read nor the operator token.",
    },
    Access.READ: {
        "401": "No bearer token was sent.",
        "403": "The token is neither the read nor the operator token, or the server has "
        "none configured.",
    },
    Access.OPERATE: {
        "401": "No bearer token was sent.",
        "403": "The token is not HEXBUS_API_TOKEN (the read token only reads), or the "
        "server has none configured.",
    },
}


def create_app(container: Container) -> FastAPI:
    """The API and dashboard over ``container``'s ports (nothing connects until a request)."""
    app = FastAPI(
        title="hexbus",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    services = Services.from_container(container)
    app.state.services = services
    install_error_handlers(app)
    routers = [
        module.router
        for module in (
            queue_routes,
            browse_routes,
            dead_letter_routes,
            event_routes,
            config_routes,
            health_routes,
            metrics_routes,
            outbox_routes,
            dashboard,
            docs,
        )
    ]
    for router in routers:
        app.include_router(router)
    # The routers' own routes (full paths: each router has its prefix), which the guard
    # matches a request against; FastAPI's app.routes may hold the routers themselves.
    routes = tuple(route for router in routers for route in router.routes)
    app.add_middleware(Guard, api=services.api, routes=lambda: routes)
    app.openapi = document(app, services.api)  # type: ignore[method-assign]
    return app


def document(app: FastAPI, api: ApiSettings) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: FastAPI's document, made to describe the bodies the server returns."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, definition in (
            ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
            .pop("$defs", {})
            .items()
        ):
            schemas.setdefault(name, definition)
        schemas.setdefault(
            "ErrorOut",
            ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"),
        )
        # FastAPI's own 422 body is not what the error handlers answer.
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        components["securitySchemes"] = {
            SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "HEXBUS_API_READ_TOKEN to read, HEXBUS_API_TOKEN to read "
                "payloads and to change state.",
            }
        }
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                _describe(operation, method, api)
        app.openapi_schema = schema
        return schema

    return openapi


def _describe(operation: dict[str, Any], method: str, api: ApiSettings) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    if "422" in responses:
        responses["422"] = {
            "description": "Invalid input: each invalid part is named in 'fields'.",
            "content": error,
        }
    if method in ("post", "put", "patch", "delete"):
        responses.setdefault(
            "413", {"description": "The body is over HEXBUS_API_MAX_BODY.", "content": error}
        )
        responses.setdefault(
            "422",
            {"description": "Invalid input (malformed JSON included).", "content": error},
        )
    for status, description in _ERRORS.items():
        responses.setdefault(status, {"description": description, "content": error})
    access = Access(operation.get(ACCESS_KEY, Access.OPEN.value))
    if access is Access.OPEN or (access is Access.COUNTS and api.read_token is None):
        return
    operation["security"] = [{SCHEME: []}]
    for status, description in _AUTH[access].items():
        responses.setdefault(status, {"description": description, "content": error})
