"""The ASGI middleware in front of every route: trusted hosts, auth before the body, a cap.

FastAPI reads and parses a request's body before it runs a route's dependencies, so a token
check in a dependency comes too late to spare the server a 100 MB body sent without one.
:class:`Guard` runs first, on the raw ASGI messages (ADR 0016):

1. the ``Host`` header must name one of ``HEXBUS_ALLOWED_HOSTS`` (localhost by default), else
   400: a DNS-rebinding page, whose requests carry its own host name, gets nothing;
2. a change (a POST or DELETE that matches a route) is authorized from its headers alone
   (:func:`~.auth.authorize`), and refused with 401/403 before a byte of its body is read;
3. a body may have at most ``HEXBUS_API_MAX_BODY`` bytes: a larger ``Content-Length`` is
   refused at once with 413, and a chunked body is counted as it arrives and refused when it
   passes the cap, so at most the cap is ever held in memory;
4. every response gets ``nosniff``, ``no-referrer``, ``DENY`` framing and, unless the route
   set its own, ``Cache-Control: no-store`` and a deny-all Content Security Policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import authorize
from .errors import ApiError, error_response
from .roles import ACCESS_KEY, Access
from .settings import ApiSettings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def host_of(header: str | None) -> str | None:
    """The host name of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``)."""
    if not header:
        return None
    header = header.strip()
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else None
    name, _, port = header.rpartition(":")
    return name if name and port.isdigit() else header


class Guard:
    """Wraps the app (see the module docstring); ``routes`` gives the app's routes."""

    def __init__(
        self, app: ASGIApp, *, api: ApiSettings, routes: Callable[[], Sequence[BaseRoute]]
    ) -> None:
        self.app = app
        self.api = api
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        send = _hardened(send)
        host = host_of(headers.get("host"))
        if host is None or not self.api.allows_host(host):
            response = error_response(
                400,
                "InvalidHost",
                "this server does not answer to that host name: add it to "
                "HEXBUS_ALLOWED_HOSTS if it is yours",
            )
            await response(scope, receive, send)
            return
        if scope["method"] in BODY_METHODS:
            access = self._access_of(scope)
            if access is not None:
                try:
                    authorize(self.api, access, headers.get("authorization"))
                except ApiError as refused:
                    response = error_response(
                        refused.status_code,
                        refused.error,
                        str(refused.detail),
                        headers=dict(refused.headers or {}),
                    )
                    await response(scope, receive, send)
                    return
            body = await self._read_capped(headers, receive)
            if body is None:
                response = error_response(
                    413,
                    "PayloadTooLarge",
                    f"the request body is larger than {self.api.max_body} bytes "
                    "(HEXBUS_API_MAX_BODY)",
                )
                await response(scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _access_of(self, scope: Scope) -> Access | None:
        for route in self._routes():
            if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL:
                extra = route.openapi_extra or {}
                return Access(extra.get(ACCESS_KEY, Access.OPERATE.value))
        return None  # no such route: the router answers 404 or 405, reading nothing

    async def _read_capped(self, headers: Headers, receive: Receive) -> bytes | None:
        declared = headers.get("content-length")
        cap = self.api.max_body
        if declared is not None and (not declared.strip().isdigit() or int(declared) > cap):
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _hardened(send: Send) -> Send:
    async def hardened(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("Referrer-Policy", "no-referrer")
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Cache-Control", "no-store")
            headers.setdefault("Content-Security-Policy", DEFAULT_POLICY)
        await send(message)

    return hardened


__all__: list[Any] = ["Guard", "host_of"]
