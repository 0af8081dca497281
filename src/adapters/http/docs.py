"""``/docs``: Swagger UI served from this server, under the dashboard's strict policy.

FastAPI's default page loads Swagger UI from a CDN, with an inline script: blank on a network
without the internet, trusting a third party with the page that holds the operator's token,
and impossible under a Content Security Policy without ``'unsafe-inline'``. Here the assets
come from the ``fastapi-offline`` package (part of the ``dashboard`` extra, ADR 0016), read
once and served from ``/docs/assets/``; the page loads them with a per-response nonce and
Subresource Integrity hashes, and its only script of ours is ``/docs/assets/init.js``, so the
policy is the dashboard's: nothing inline, nothing from elsewhere.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import secrets
from importlib import resources

import attrs
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from .dashboard import policy
from .errors import ApiError

router = APIRouter(include_in_schema=False)

INIT = b"""\
"use strict";
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
"""

_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


@attrs.frozen
class Asset:
    """One file of the page, with its media type and its SRI hash."""

    body: bytes
    media_type: str

    @property
    def integrity(self) -> str:
        """``sha384-...`` for the ``integrity`` attribute."""
        digest = hashlib.sha384(self.body).digest()
        return "sha384-" + base64.b64encode(digest).decode()


@functools.cache
def assets() -> dict[str, Asset]:
    """The page's files: Swagger UI's from fastapi-offline, and our init script."""
    static = resources.files("fastapi_offline").joinpath("static")
    found = {name: Asset(static.joinpath(name).read_bytes(), kind) for name, kind in _TYPES.items()}
    found["init.js"] = Asset(INIT, "text/javascript; charset=utf-8")
    return found


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hexbus API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
<link rel="stylesheet" nonce="{nonce}" href="/docs/assets/swagger-ui.css" integrity="{css}">
</head>
<body>
<div id="swagger-ui"></div>
<script nonce="{nonce}" src="/docs/assets/swagger-ui-bundle.js" integrity="{js}"></script>
<script nonce="{nonce}" src="/docs/assets/init.js" integrity="{init}"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """The API's documentation page."""
    nonce = secrets.token_urlsafe(18)
    found = assets()
    page = PAGE.format(
        nonce=html.escape(nonce),
        css=found["swagger-ui.css"].integrity,
        js=found["swagger-ui-bundle.js"].integrity,
        init=found["init.js"].integrity,
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": policy(nonce)})


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    """One of the page's files (nothing else is served from here)."""
    found = assets().get(name)
    if found is None:
        raise ApiError(404, "NotFound", f"no documentation asset named {name!r}")
    return Response(
        found.body,
        media_type=found.media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
