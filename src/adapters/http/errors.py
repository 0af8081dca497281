"""Every error answers the same JSON: ``{"error": code, "detail": sentence}``.

hexbus's own errors carry a message that says what to do, so they are passed through with a
status that tells the client whose fault it was: a missing dead letter is a 404, one that
cannot be retried a 409, an unreachable Redis a 503, a Redis that refuses a command for a
data error (``EventBusRejected``) a 500, the deployment's fault and not the client's. Bad input
is a 422 naming each invalid part; nothing a client sends produces a 500. Redis errors that a
port let through untranslated are answered as the 503 they are, never as a stack trace.
"""

from __future__ import annotations

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


async def _on_hexbus(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HexbusError)
    return error_response(status_for(exc), type(exc).__name__, str(exc))


async def _on_redis(request: Request, exc: Exception) -> JSONResponse:
    detail = (
        f"Redis could not be reached or refused the command ({type(exc).__name__}: {exc}); "
        "check REDIS_URL and that Redis is up, then try again"
    )
    return error_response(503, EventBusUnavailable.__name__, detail)


def install_error_handlers(app: FastAPI) -> None:
    """Answer validation, HTTP, hexbus and Redis errors with the one error body."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(HexbusError, _on_hexbus)
    app.add_exception_handler(redis.RedisError, _on_redis)
