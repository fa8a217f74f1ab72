"""Who is calling: ``ONCO_AUTH_MODE`` none (loopback only), bearer (static tokens, for development) or smart
(OAuth 2.0 JWT access tokens with SMART scopes, see :mod:`service.api.jwt_tokens`).

The answer is an :class:`~service.api.scopes.Access`; what it may do is decided in
:mod:`service.api.guard`. Health and metrics endpoints, ``/fhir/metadata`` and
``/.well-known/smart-configuration`` stay open: they carry no PHI.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import FastAPI, Request

from service.api.jwt_tokens import JwksCache, TokenValidator, invalid_token
from service.api.scopes import FULL_ACCESS, Access, parse_scopes
from service.config import AuthMode, Settings
from service.errors import Unauthorized

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="oncoresponse"'}


async def authenticate(request: Request) -> Access:
    settings: Settings = request.app.state.container.settings
    if settings.auth_mode is AuthMode.NONE:
        return Access("anonymous", FULL_ACCESS)
    token = _bearer(request)
    if settings.auth_mode is AuthMode.BEARER:
        return _static(token, settings)
    claims = await token_validator(request.app).claims(token)
    return access_from_claims(claims)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "A bearer access token is required (Authorization: Bearer <token>)", headers=_CHALLENGE
        )
    return token.strip()


def _static(token: str, settings: Settings) -> Access:
    if not any(
        hmac.compare_digest(token.encode(), known.get_secret_value().encode())
        for known in settings.api_tokens
    ):
        raise invalid_token("not one of ONCO_API_TOKENS")
    # Static tokens name no client: the audit trail tells them apart by a short hash, never the token.
    return Access(f"static-token-{hashlib.sha256(token.encode()).hexdigest()[:12]}", FULL_ACCESS)


def access_from_claims(claims: dict[str, object]) -> Access:
    scope = claims.get("scope", claims.get("scp", ""))
    text = " ".join(str(s) for s in scope) if isinstance(scope, list) else str(scope)
    client = claims.get("client_id") or claims.get("azp") or claims.get("sub")
    if not isinstance(client, str) or not client:
        raise invalid_token("it names no client (client_id, azp or sub)")
    patient = claims.get("patient")
    subject = claims.get("sub")
    return Access(
        client,
        parse_scopes(text),
        patient=patient if isinstance(patient, str) and patient else None,
        subject=subject if isinstance(subject, str) and subject != client else None,
    )


def token_validator(app: FastAPI) -> TokenValidator:
    """Built on first use and kept on the app (its JWKS cache lives as long as the app)."""
    validator: TokenValidator | None = getattr(app.state, "token_validator", None)
    if validator is None:
        container = app.state.container
        settings: Settings = container.settings
        jwks = JwksCache(str(settings.auth_jwks_url), container.http)
        validator = TokenValidator(
            jwks,
            issuer=str(settings.auth_issuer),
            audience=str(settings.auth_audience),
            leeway_seconds=settings.auth_leeway_seconds,
        )
        app.state.token_validator = validator
    return validator
