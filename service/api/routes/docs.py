"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from assets on this machine (issue 18): the JavaScript and
CSS come from the ``fastapi-offline`` wheel, pinned in ``uv.lock`` and installed by ``make run``; nothing is
loaded from a CDN, and each page's Content-Security-Policy says so (scripts from this origin only, no inline
script: Swagger UI starts from ``swagger-init.js``, served here too)."""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from service.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSETS: Final = files("fastapi_offline") / "static"
PREFIX: Final = "/docs/assets"
_TYPES: Final = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
_INIT: Final = (
    'window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", layout: "BaseLayout",'
    " deepLinking: true, validatorUrl: null,"
    " presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]});\n"
)
# Self only: the spec comes from /openapi.json, ReDoc searches in a blob: worker, both use inline styles.
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src blob:; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
_HEAD: Final = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>oncoresponse API</title>'


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    body = (
        f'{_HEAD}<link rel="stylesheet" href="{PREFIX}/swagger-ui.css">'
        f'<link rel="icon" href="{PREFIX}/favicon.png"></head><body><div id="swagger-ui"></div>'
        f'<script src="{PREFIX}/swagger-ui-bundle.js"></script>'
        f'<script src="{PREFIX}/swagger-init.js"></script></body></html>'
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": _CSP})


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    body = (
        f'{_HEAD}<link rel="icon" href="{PREFIX}/favicon.png"></head><body>'
        f'<redoc spec-url="/openapi.json"></redoc><script src="{PREFIX}/redoc.standalone.js"></script>'
        "</body></html>"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": _CSP})


@router.get(f"{PREFIX}/{{name}}")
async def asset(name: str) -> Response:
    """One of the named assets (never a path into the package: the name must be one of these)."""
    headers = {"Cache-Control": "public, max-age=86400"}
    if name == "swagger-init.js":
        return Response(_INIT, media_type="text/javascript", headers=headers)
    if name not in _TYPES:
        raise NotFound(f"No documentation asset {name!r}")
    return Response((ASSETS / name).read_bytes(), media_type=_TYPES[name], headers=headers)
