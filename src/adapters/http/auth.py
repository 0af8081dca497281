"""Bearer-token authorization for the endpoints that change state.

Retrying, removing, cleaning and pausing act on production work, so they need
``Authorization: Bearer <HEXBUS_API_TOKEN>``. Reading stays open, because the dashboard polls
it and it reveals no secret (the settings are shown redacted); put the app behind your own
network rules or proxy if the queue names and error messages are themselves sensitive.

With no token configured, mutating endpoints are refused (403) rather than left open: an
operator who forgot the setting finds out at once, and nobody else finds out first.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError
from .schemas import ErrorOut, Responses
from .services import ServicesDep

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="HEXBUS_API_TOKEN",
    description="The value of HEXBUS_API_TOKEN; needed by every POST and DELETE.",
)


def require_token(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Let the request through only with the configured token (a FastAPI dependency)."""
    expected = services.api.api_token
    if expected is None:
        raise ApiError(
            403,
            "Forbidden",
            "changes through the API are disabled because no token is configured: set "
            "HEXBUS_API_TOKEN on the server and send it as 'Authorization: Bearer <token>'",
        )
    if credentials is None:
        raise ApiError(
            401,
            "Unauthorized",
            "this endpoint changes state: send 'Authorization: Bearer <HEXBUS_API_TOKEN>'",
            headers={"WWW-Authenticate": 'Bearer realm="hexbus"'},
        )
    # Constant time, on bytes (compare_digest rejects non-ASCII str), so the comparison's
    # duration says nothing about how much of a guess was right.
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise ApiError(403, "Forbidden", "the bearer token is not HEXBUS_API_TOKEN")


Authorized = Depends(require_token)
"""Put in a route's ``dependencies=[...]`` to require the token."""

MUTATING: Responses = {
    401: {"model": ErrorOut, "description": "No bearer token was sent."},
    403: {"model": ErrorOut, "description": "Wrong token, or HEXBUS_API_TOKEN is not set."},
}
"""The responses every state-changing endpoint may give besides its own."""
