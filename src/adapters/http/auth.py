"""Bearer tokens and the two roles: who may read what, and who may change state (ADR 0016).

Every endpoint has one :class:`Access` level, checked here (a FastAPI dependency) and, for
changes, by :class:`~.guard.Guard` too before any request body is read:

============ ============================================ =====================================
access       endpoints                                    needs
============ ============================================ =====================================
``open``     ``/health``, ``/health/live|ready``, docs    nothing
``counts``   queue stats, ``/metrics``                    nothing, unless HEXBUS_API_READ_TOKEN
                                                          is set: then a read or operator token
``read``     event status, dead letters, settings         the read or the operator token
``operate``  retry, remove, retry-all, clean, pause       the operator token (HEXBUS_API_TOKEN)
============ ============================================ =====================================

A reader sees dead letters and statuses without payload fields, which only the operator role
is shown (decrypted, when payloads are encrypted); error texts and tracebacks are shown to
either role only with ``HEXBUS_SHOW_ERRORS=true``. Without any token configured, reads of
anything but counts and changes are refused (403), never left open; without a token sent,
401 with a challenge; a wrong token, or the read token for a change, 403.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request

from .errors import ApiError
from .roles import ACCESS_KEY, Access, Role
from .services import ServicesDep
from .settings import ApiSettings

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="hexbus"'}


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _same(sent: str, expected: str | None) -> bool:
    # Constant time, on bytes (compare_digest rejects non-ASCII str), so the comparison's
    # duration says nothing about how much of a guess was right.
    return expected is not None and hmac.compare_digest(sent.encode(), expected.encode())


def authorize(api: ApiSettings, access: Access, header: str | None) -> Role:
    """The caller's role for an endpoint of ``access``; raises the 401 or 403 to answer."""
    if access is Access.OPEN:
        return Role.PUBLIC
    sent = bearer_token(header)
    if access is Access.COUNTS and api.read_token is None:
        # Open: a token only tells who is asking; a wrong one is no reason to refuse counts.
        if sent is not None and _same(sent, api.api_token):
            return Role.OPERATOR
        return Role.PUBLIC
    if access is Access.OPERATE and api.api_token is None:
        raise ApiError(
            403,
            "Forbidden",
            "changes through the API are disabled because no token is configured: set "
            "HEXBUS_API_TOKEN on the server and send it as 'Authorization: Bearer <token>'",
        )
    if access is not Access.OPERATE and api.api_token is None and api.read_token is None:
        raise ApiError(
            403,
            "Forbidden",
            "reading event status, dead letters and settings is disabled because no token is "
            "configured: set HEXBUS_API_READ_TOKEN (read) or HEXBUS_API_TOKEN (operator) on "
            "the server and send it as 'Authorization: Bearer <token>'",
        )
    if sent is None:
        needed = "HEXBUS_API_TOKEN" if access is Access.OPERATE else "a read or operator token"
        raise ApiError(
            401,
            "Unauthorized",
            f"this endpoint needs a token: send 'Authorization: Bearer <{needed}>'",
            headers=CHALLENGE,
        )
    if _same(sent, api.api_token):
        return Role.OPERATOR
    if not _same(sent, api.read_token):
        raise ApiError(403, "Forbidden", "the bearer token is not one this server accepts")
    if access is Access.OPERATE:
        raise ApiError(
            403,
            "Forbidden",
            "this is the read token; changes need the operator token (HEXBUS_API_TOKEN)",
        )
    return Role.READER


def _requiring(access: Access) -> Any:
    def dependency(request: Request, services: ServicesDep) -> Role:
        return authorize(services.api, access, request.headers.get("authorization"))

    dependency.__name__ = f"require_{access.value}"
    return Depends(dependency)


CountsRole = Annotated[Role, _requiring(Access.COUNTS)]
"""A route parameter of this type lets counts through (and names the caller's role)."""
ReaderRole = Annotated[Role, _requiring(Access.READ)]
"""A route parameter of this type requires the read or the operator token."""
Operator = _requiring(Access.OPERATE)
"""Put in a route's ``dependencies=[...]`` to require the operator token."""


def documented(access: Access) -> dict[str, Any]:
    """``openapi_extra`` naming ``access``, from which the document gets its security and its
    401/403 answers (``app.document``)."""
    return {ACCESS_KEY: access.value}
