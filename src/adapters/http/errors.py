"""Every error answers the same JSON: ``{"error": code, "detail": sentence}``.

hexbus's own errors carry a message that says what to do, so 4xx ones are passed through with
a status that tells the client whose fault it was: a missing dead letter is a 404, one that
cannot be retried a 409. Bad input is a 422 naming each invalid part (a body that is not even
JSON too); nothing a client sends produces a 500.

A 5xx says whose fault it is and never how the server is built (ADR 0016): only a Redis that
could not be reached or did not answer is a 503 (``EventBusUnavailable``, and redis-py's
connection errors); a Redis that answered with an error (``EventBusRejected``: a key of the
wrong type, a script error, a refused command) is a 500, the deployment's fault, and so is
anything unexpected. Their bodies name no command, key, host or path: those go to the log,
under the ``error id`` the body gives.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ...domain.errors import (
    DeadLetterNotFound,
    DeadLetterNotRetryable,
    EventBusRejected,
    EventBusUnavailable,
    EventError,
    HexbusError,
    UnknownHandler,
)
from .schemas import ErrorOut, FieldError

log = logging.getLogger("hexbus.http")

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)
"""redis-py errors meaning no answer: the only ones that make a 503."""

_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (DeadLetterNotFound, 404),
    (DeadLetterNotRetryable, 409),
    # The API takes no events or handler names as input: these come from stored dead letters
    # (a payload that no longer decodes, a handler since removed), a conflict with the data.
    (UnknownHandler, 409),
    (EventError, 409),
    (EventBusUnavailable, 503),
    (EventBusRejected, 500),
    (LookupError, 404),
    (ValueError, 422),
)
"""hexbus errors to statuses, most specific first; any other HexbusError is a 400."""


class ApiError(HTTPException):
    """An error the API raises itself, with its own code (``UnknownQueue``, ``Forbidden``)."""

    def __init__(
        self, status: int, error: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.error = error


def status_for(error: HexbusError) -> int:
    """The HTTP status a hexbus error answers with."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def error_response(
    status: int,
    error: str,
    detail: str,
    *,
    fields: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one error body."""
    body = ErrorOut(error=error, detail=detail, fields=fields)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only where and why, never the rejected input itself: it may be large or hostile.
    fields = [
        FieldError(location=_location(tuple(e.get("loc", ()))), message=str(e.get("msg", "")))
        for e in exc.errors()
    ]
    detail = "; ".join(f"{f.location}: {f.message}" for f in fields) or "invalid request"
    return error_response(422, "ValidationError", detail, fields=fields)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    error = getattr(exc, "error", None) or phrase.title().replace(" ", "").replace("-", "")
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, error, detail, headers=headers)


UNAVAILABLE = (
    "Redis could not be reached or did not answer in time; try again shortly (the server "
    "log has the details under error id {id})"
)
REJECTED = (
    "the server's Redis refused the command: a data or configuration error on the server, "
    "not in this request, and trying again gives the same answer (the server log has the "
    "details under error id {id})"
)
UNEXPECTED = "the server failed unexpectedly (the server log has the details under error id {id})"


def _server_error(
    request: Request, status: int, error: str, template: str, exc: BaseException
) -> JSONResponse:
    error_id = uuid.uuid4().hex[:12]
    log.error(
        "%s %s answered %d %s (error id %s)",
        request.method,
        request.url.path,
        status,
        error,
        error_id,
        exc_info=exc,
    )
    return error_response(status, error, template.format(id=error_id))


async def _on_hexbus(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HexbusError)
    status = status_for(exc)
    if isinstance(exc, EventBusUnavailable):
        return _server_error(request, 503, type(exc).__name__, UNAVAILABLE, exc)
    if status >= 500:
        return _server_error(request, status, type(exc).__name__, REJECTED, exc)
    return error_response(status, type(exc).__name__, str(exc))


async def _on_redis(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, TRANSIENT):
        return _server_error(request, 503, EventBusUnavailable.__name__, UNAVAILABLE, exc)
    return _server_error(request, 500, EventBusRejected.__name__, REJECTED, exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return _server_error(request, 500, "InternalError", UNEXPECTED, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer validation, HTTP, hexbus, Redis and unexpected errors with the one error body."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(HexbusError, _on_hexbus)
    app.add_exception_handler(redis.RedisError, _on_redis)
    app.add_exception_handler(Exception, _on_unexpected)
