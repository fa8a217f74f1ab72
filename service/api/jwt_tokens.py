"""Validation of OAuth 2.0 JWT access tokens (``ONCO_AUTH_MODE=smart``) against the issuer's JWKS.

Only asymmetric algorithms are accepted (RS256, RS384, ES256, ES384): never ``none``, never an HMAC one,
which would let anyone holding the public key sign (the classic algorithm-confusion attack). The key's type
must fit the algorithm, and a key that declares its own ``alg`` must declare this one. The JWKS is cached; an
unknown ``kid`` fetches it again (key rotation), at most once per ``_MIN_REFRESH_SECONDS``, so a stream of
made-up kids cannot turn the service into a load on the authorization server.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import structlog

from service.errors import Unauthorized

log = structlog.get_logger("service.auth")

ALGORITHMS = ("RS256", "RS384", "ES256", "ES384")
_KEY_TYPES = {"RS": "RSA", "ES": "EC"}
_MIN_REFRESH_SECONDS = 10.0
_MAX_AGE_SECONDS = 3600.0  # keys are fetched again at least hourly, so a revoked key drops out

# What a 401 says of each of PyJWT's refusals, and of any other.
_MALFORMED = "malformed or missing claims"
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not yet valid"),
    (jwt.InvalidAudienceError, "not issued for this service (aud)"),
    (jwt.InvalidIssuerError, "not from the trusted issuer (iss)"),
    (jwt.InvalidSignatureError, "bad signature"),
)


def invalid_token(reason: str) -> Unauthorized:
    """401 with the RFC 6750 challenge; ``reason`` never repeats the token or its claims' values."""
    return Unauthorized(
        f"The access token is not valid: {reason}",
        headers={"WWW-Authenticate": f'Bearer realm="oncoresponse", error="invalid_token", '
                 f'error_description="{reason}"'},
    )  # fmt: skip


class JwksCache:
    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url, self.http = url, http
        self.keys: list[dict[str, Any]] = []
        self.fetched_at = -_MAX_AGE_SECONDS
        self.fetches = 0
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> dict[str, Any]:
        """The JWK for ``kid`` (or the only key, when the token names none)."""
        if self._age() > _MAX_AGE_SECONDS:
            await self._refresh()
        found = self._find(kid)
        if found is None and self._age() >= _MIN_REFRESH_SECONDS:
            await self._refresh()  # perhaps the issuer has rotated its keys
            found = self._find(kid)
        if found is None:
            raise invalid_token("no key of the issuer matches the token's kid")
        return found

    def _age(self) -> float:
        """Seconds since the key set was fetched."""
        return time.monotonic() - self.fetched_at

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None:
            return self.keys[0] if len(self.keys) == 1 else None
        return next((k for k in self.keys if k.get("kid") == kid), None)

    async def _refresh(self) -> None:
        async with self._lock:
            if self._age() < _MIN_REFRESH_SECONDS:
                return  # another request refreshed it meanwhile
            try:
                response = await self.http.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                keys = response.json().get("keys")
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                log.warning("jwks_fetch_failed", error=type(exc).__name__)
                raise invalid_token("the issuer's keys could not be fetched") from None
            self.keys = [k for k in keys if isinstance(k, dict)] if isinstance(keys, list) else []
            self.fetched_at, self.fetches = time.monotonic(), self.fetches + 1


class TokenValidator:
    def __init__(self, jwks: JwksCache, *, issuer: str, audience: str, leeway_seconds: int) -> None:
        self.jwks, self.issuer, self.audience, self.leeway = jwks, issuer, audience, leeway_seconds

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's verified claims, or :class:`Unauthorized` with ``error="invalid_token"``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid_token("not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise invalid_token(f"algorithm not accepted (only {', '.join(ALGORITHMS)})")
        jwk = await self.jwks.key(header.get("kid") if isinstance(header.get("kid"), str) else None)
        return self._decode(token, _public_key(jwk, algorithm), algorithm)

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            reason = next((text for kind, text in _REASONS if isinstance(exc, kind)), _MALFORMED)
            raise invalid_token(reason) from None
        return claims


def _public_key(jwk: dict[str, Any], algorithm: str) -> Any:
    if jwk.get("kty") != _KEY_TYPES[algorithm[:2]] or jwk.get("alg", algorithm) != algorithm:
        raise invalid_token("the key does not fit the token's algorithm")
    if jwk.get("use", "sig") != "sig":
        raise invalid_token("the key is not a signing key")
    try:
        return jwt.PyJWK(jwk, algorithm=algorithm).key
    except jwt.PyJWTError:
        raise invalid_token("the issuer's key is not usable") from None
