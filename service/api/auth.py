"""Bearer-token authentication for the FHIR API (``ONCO_AUTH_MODE=bearer``).

Health and metrics endpoints stay open so that probes and scrapers need no secret; they carry no PHI.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from service.config import AuthMode, Settings
from service.errors import Unauthorized


async def require_token(request: Request) -> None:
    """Async so FastAPI calls it in the event loop rather than handing it to a thread (no I/O here)."""
    settings: Settings = request.app.state.container.settings
    if settings.auth_mode is AuthMode.NONE:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not any(
        hmac.compare_digest(token.encode(), known.get_secret_value().encode())
        for known in settings.api_tokens
    ):
        raise Unauthorized("A valid bearer token is required (Authorization: Bearer <token>)")
